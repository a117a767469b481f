"""The unit, agent and task definitions, checked by each platform's own rules:
systemd's parser (``systemd-analyze verify``, where systemd is installed) and
its quoting rules; launchd's property list format (plistlib); the Task
Scheduler's XML schema."""

from __future__ import annotations

import configparser
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from podsync.home import Home
from podsync.service import definitions as defs

TASK_XSD = Path(__file__).with_name("task.xsd")
NS = {"t": defs.TASK_NAMESPACE}
#: A home path with every character the quoting of each format has to survive.
AWKWARD = 'Ada\'s "pod" 100% $HOME \\ back'


@pytest.fixture
def spec(tmp_path: Path) -> defs.ServiceSpec:
    home = Home(tmp_path / AWKWARD)
    return defs.make_spec(home, ["--listen", "0.0.0.0:7850", "--peer", "192.168.1.20:7850",
                                 "--no-discovery"], platform="linux")


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit's sections and keys (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and re.fullmatch(r"[A-Za-z]+", key), line
        current.setdefault(key, []).append(value)
    return sections


def systemd_words(value: str) -> list[str]:
    """ExecStart= split as systemd does: double quotes with C escapes, then
    ``%%`` and ``$$`` stand for themselves."""
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(value, posix=True)]


def test_the_systemd_unit_runs_podsync_up_for_the_home_and_restarts_it_on_failure(
        spec: defs.ServiceSpec) -> None:
    unit = parse_unit(defs.systemd_unit(spec, 252))
    service = unit["Service"]
    assert systemd_words(service["ExecStart"][0]) == spec.argv
    assert spec.argv[1:7] == ["-m", "podsync", "--home", str(spec.home), "up", "--service"]
    assert spec.argv[7:] == ["--listen", "0.0.0.0:7850", "--peer", "192.168.1.20:7850", "--no-discovery"]
    assert service["Restart"] == ["on-failure"]
    assert service["RestartPreventExitStatus"] == ["2"]
    assert "RestartSteps" not in service  # systemd 252 does not know it
    assert unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert unit["Install"]["WantedBy"] == ["default.target"]
    # From systemd 254 on, the delay grows.
    newer = parse_unit(defs.systemd_unit(spec, 256))["Service"]
    assert newer["RestartSteps"] == [str(defs.RESTART_STEPS)]
    assert newer["RestartMaxDelaySec"] == [f"{defs.RESTART_MAX_SECONDS}s"]


def _installed_systemd() -> int | None:
    if shutil.which("systemd-analyze") is None or shutil.which("systemctl") is None:
        return None
    found = re.match(r"systemd (\d+)", subprocess.run(["systemctl", "--version"], capture_output=True,
                                                      text=True).stdout)
    return int(found.group(1)) if found else None


def test_systemd_analyze_verify_accepts_the_unit(spec: defs.ServiceSpec, tmp_path: Path) -> None:
    version = _installed_systemd()
    if version is None:
        pytest.skip("systemd-analyze is not installed here; the parser test above checks the unit")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    unit = tmp_path / f"{spec.name}.service"
    unit.write_text(defs.systemd_unit(spec, version))
    done = subprocess.run(["systemd-analyze", "verify", "--user", str(unit)], capture_output=True, text=True,
                          env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr
    # The check is real: a unit it cannot run is refused.
    unit.write_text(defs.systemd_unit(spec, version).replace("Restart=on-failure", "Restart=sometimes"))
    bad = subprocess.run(["systemd-analyze", "verify", "--user", str(unit)], capture_output=True, text=True,
                         env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, timeout=60)
    assert "restart specifier" in bad.stderr and unit.name in bad.stderr


def test_the_launchd_agent_starts_at_login_and_again_after_a_failure(spec: defs.ServiceSpec) -> None:
    agent = plistlib.loads(defs.launchd_plist(spec))
    assert agent["Label"] == "org.podsync." + spec.name
    assert agent["ProgramArguments"] == spec.argv
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["ThrottleInterval"] == defs.LAUNCHD_THROTTLE_SECONDS
    assert agent["WorkingDirectory"] == str(spec.home)
    assert Path(agent["StandardErrorPath"]).parent == spec.log_file.parent


def windows_words(line: str) -> list[str]:
    """A command line split as Windows programs do (CommandLineToArgvW's rules)."""
    words: list[str] = []
    word, quoted, slashes, any_char = "", False, 0, False
    for ch in line:
        if ch == "\\":
            slashes += 1
            continue
        if ch == '"':
            word += "\\" * (slashes // 2)
            if slashes % 2:
                word += '"'
            else:
                quoted = not quoted
            slashes, any_char = 0, True
            continue
        word += "\\" * slashes
        slashes = 0
        if ch in " \t" and not quoted:
            if word or any_char:
                words.append(word)
            word, any_char = "", False
        else:
            word += ch
            any_char = True
    word += "\\" * slashes
    if word or any_char:
        words.append(word)
    return words


def test_the_windows_task_is_valid_by_the_task_scheduler_schema(tmp_path: Path) -> None:
    python = tmp_path / "Python 3.12" / "python.exe"
    python.parent.mkdir()
    python.write_bytes(b"")
    python.with_name("pythonw.exe").write_bytes(b"")
    spec = defs.make_spec(Home(tmp_path / AWKWARD), ["--no-discovery"], platform="win32", python=str(python))
    data = defs.windows_task(spec, "MAPLE\\ada")
    assert data.startswith(b"\xff\xfe")  # UTF-16 with its byte order mark, as schtasks writes
    schema = xmlschema.XMLSchema(str(TASK_XSD))
    schema.validate(data.decode("utf-16"))

    task = ET.fromstring(data.decode("utf-16"))
    command = task.find("t:Actions/t:Exec/t:Command", NS)
    arguments = task.find("t:Actions/t:Exec/t:Arguments", NS)
    assert command is not None and arguments is not None
    # No console window; the supervisor restarts a node that exits with an error.
    assert command.text == str(python.with_name("pythonw.exe"))
    assert windows_words(arguments.text or "") == ["-m", "podsync", "--home", str(spec.home),
                                                   "service", "run", "--no-discovery"]
    assert task.findtext("t:Triggers/t:LogonTrigger/t:UserId", namespaces=NS) == "MAPLE\\ada"
    assert task.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=NS) == "PT0S"
    assert task.findtext("t:Principals/t:Principal/t:LogonType", namespaces=NS) == "InteractiveToken"


def test_the_task_schema_check_refuses_a_task_scheduler_would_refuse(tmp_path: Path) -> None:
    spec = defs.make_spec(Home(tmp_path / "home"), [], platform="win32", python=sys.executable)
    text = defs.windows_task(spec, "ada").decode("utf-16")
    schema = xmlschema.XMLSchema(str(TASK_XSD))
    for broken in (text.replace("<Count>255</Count>", "<Count>0</Count>"),
                   text.replace("<Interval>PT1M</Interval>", "<Interval>PT10S</Interval>"),
                   text.replace("InteractiveToken", "Whenever"),
                   re.sub(r"<Actions.*</Actions>", "", text, flags=re.S)):
        assert not schema.is_valid(broken)


def test_the_service_name_is_per_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODSYNC_HOME", str(tmp_path / "default"))
    assert defs.service_name(Home(tmp_path / "default")) == "podsync"
    a, b = defs.service_name(Home(tmp_path / "a")), defs.service_name(Home(tmp_path / "b"))
    assert a != b and re.fullmatch(r"podsync-[0-9a-f]{8}", a)
    # configparser agrees the unit is well-formed INI too (what many tools read it with).
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(defs.systemd_unit(defs.make_spec(Home(tmp_path / "a"), []), 252))
    assert parser["Service"]["Restart"] == "on-failure"
