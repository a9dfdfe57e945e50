import { useState } from "react";
import { ChatView } from "./chat/ChatView";
import { LogsView } from "./logs/LogsView";
import { ModelsView } from "./models/ModelsView";
import { useModels } from "./models/useModels";

type Tab = "models" | "chat" | "logs";

export function App() {
  const [tab, setTab] = useState<Tab>("models");
  const models = useModels();
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">corral</span>
        <nav>
          {(["models", "chat", "logs"] as const).map((t) => (
            <button key={t} className={t === tab ? "tab active" : "tab"} onClick={() => setTab(t)} data-tab={t}>
              {t[0]!.toUpperCase() + t.slice(1)}
            </button>
          ))}
        </nav>
      </header>
      <main>
        {tab === "models" && <ModelsView models={models} />}
        {tab === "chat" && <ChatView models={models} />}
        {tab === "logs" && <LogsView models={models} />}
      </main>
    </div>
  );
}
