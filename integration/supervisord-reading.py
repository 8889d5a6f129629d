#!/usr/bin/env python3
"""Prints how supervisord 4.3.0 itself reads a configuration file, in the JSON shape of
`rinit check --json` (programs only), so the two readings can be compared.

Usage: python3 integration/supervisord-reading.py FILE   (needs `pip install supervisor==4.3.0`)
Used to record tests/fixtures/supervisord/*.reading.json.
"""
import json
import shlex
import signal
import sys

from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.options import ServerOptions

SIGNAMES = {getattr(signal, n): n[3:] for n in dir(signal) if n.startswith("SIG") and not n.startswith("SIG_")}


def main(path):
    options = ServerOptions()
    options.realize(args=["-c", path])
    programs = []
    for group in sorted(options.process_group_configs):
        for p in sorted(group.process_configs):
            auto = p.autorestart
            if auto is RestartUnconditionally:
                autorestart = "true"
            elif auto is RestartWhenExitUnexpected:
                autorestart = "unexpected"
            else:
                autorestart = "false"
            programs.append({
                "name": p.name,
                "group": group.name,
                # supervisord splits the command with shlex when it spawns it.
                "command": shlex.split(p.command),
                "priority": group.priority,
                "autostart": bool(p.autostart),
                "autorestart": autorestart,
                "exitcodes": list(p.exitcodes),
                "startsecs": p.startsecs,
                "startretries": p.startretries,
                "stopsignal": SIGNAMES.get(p.stopsignal, str(p.stopsignal)),
                "stopwaitsecs": p.stopwaitsecs,
                "stopasgroup": bool(p.stopasgroup),
                "killasgroup": bool(p.killasgroup),
                # [supervisord] environment= already merged in, the program's own winning.
                "environment": p.environment or {},
                "redirect_stderr": bool(p.redirect_stderr),
            })
    json.dump({"programs": programs}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
