import { useEffect, useRef, useState } from "react";
import { onKeyNeeded } from "./api";
import { ChatView } from "./chat/ChatView";
import { KeyDialog } from "./KeyDialog";
import { LogsView } from "./logs/LogsView";
import { ModelsView } from "./models/ModelsView";
import { useModelsState } from "./models/useModels";
import { NodesView } from "./nodes/NodesView";

type Tab = "models" | "chat" | "logs" | "nodes";

export function App() {
  const [tab, setTab] = useState<Tab>("models");
  const [logsModel, setLogsModel] = useState<string>();
  // undefined: no prompt; otherwise whether a 401 brought it up (rather than the key button)
  const [keyPrompt, setKeyPrompt] = useState<{ rejected: boolean }>();
  const { models, mode, live, cluster } = useModelsState();

  // once dismissed, a 401 (a view polling every second) marks the key button instead of bringing the prompt back
  const dismissed = useRef(false);
  const [keyMissing, setKeyMissing] = useState(false);
  useEffect(
    () =>
      onKeyNeeded(() => {
        setKeyMissing(true);
        if (!dismissed.current) setKeyPrompt((p) => p ?? { rejected: true });
      }),
    [],
  );

  // `corral -m` has one model and no logs endpoint; only a node of a cluster has nodes to show
  const tabs: Tab[] = mode === "single" ? ["models", "chat"] : ["models", "chat", "logs"];
  if (cluster) tabs.push("nodes");
  const shown = tabs.includes(tab) ? tab : "models";

  // data-cluster: whether the server has said if it is a node of a cluster (a hidden Nodes tab may just not be known yet)
  return (
    <div className="app" data-cluster={cluster === undefined ? undefined : String(cluster)}>
      <header className="topbar">
        <span className="brand">corral</span>
        <nav role="tablist">
          {tabs.map((t) => (
            <button
              key={t}
              role="tab"
              aria-selected={t === shown}
              className={t === shown ? "tab active" : "tab"}
              onClick={() => setTab(t)}
              data-tab={t}
            >
              {t[0]!.toUpperCase() + t.slice(1)}
            </button>
          ))}
        </nav>
        <span className="spacer" />
        <span
          className={live ? "conn live" : "conn"}
          title={live ? "live: changes show as they happen" : "not connected: trying again"}
          aria-label={live ? "connected" : "not connected"}
        />
        <button
          className={keyMissing ? "key-button attention" : "key-button"}
          onClick={() => setKeyPrompt({ rejected: keyMissing })}
          title={keyMissing ? "the server needs an API key" : "API key"}
        >
          Key
        </button>
      </header>
      <main>
        {shown === "models" && (
          <ModelsView
            models={models}
            mode={mode}
            onShowLogs={(id) => {
              setLogsModel(id);
              setTab("logs");
            }}
          />
        )}
        {shown === "chat" && <ChatView models={models} />}
        {shown === "logs" && <LogsView models={models} model={logsModel} onSelect={setLogsModel} />}
        {shown === "nodes" && <NodesView />}
      </main>
      {keyPrompt && (
        <KeyDialog
          rejected={keyPrompt.rejected}
          onClose={(saved) => {
            dismissed.current = !saved;
            if (saved) setKeyMissing(false);
            setKeyPrompt(undefined);
          }}
        />
      )}
    </div>
  );
}
