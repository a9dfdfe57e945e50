# pytest plugin loaded by `npm run test:llamacpp` (corral's own code, not llama.cpp's). llama.cpp's conftest starts
# every preset server once, online, to download its model before the session; the harness has already placed the
# models in an offline cache, and a preset whose model is not placed would stop the whole session. So that step
# is turned off here, and nothing else of the suite is changed.
import utils


def pytest_configure(config):
    utils.ServerPreset.load_all = staticmethod(lambda: None)


# One line per test for the harness: its id and outcome (passed, failed, error or skipped), and the first line of
# what went wrong. A failure in setup or teardown is an error of that test, as pytest reports it.
import json
import os

_outcomes = {}


def pytest_runtest_logreport(report):
    nodeid = report.nodeid
    if report.when == "call" or report.outcome != "passed":
        outcome = report.outcome
        if report.when != "call" and outcome == "failed":
            outcome = "error"
        if nodeid in _outcomes and _outcomes[nodeid]["outcome"] in ("failed", "error"):
            return
        message = ""
        if report.outcome != "passed":
            text = str(report.longrepr) if report.longrepr else ""
            if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
                text = report.longrepr[2]
            lines = [l for l in text.splitlines() if l.startswith("E ")]
            message = (lines[0][2:].strip() if lines else text.strip().splitlines()[-1] if text.strip() else "")[:300]
        _outcomes[nodeid] = {"id": nodeid, "outcome": outcome, "message": message}


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("CORRAL_RESULTS")
    if path:
        with open(path, "w") as f:
            for entry in _outcomes.values():
                f.write(json.dumps(entry) + "\n")
