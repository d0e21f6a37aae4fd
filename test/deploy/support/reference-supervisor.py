# Loads a supervisord config with the reference implementation (Debian's Python supervisor 4.x) and prints
# what it understood as JSON: the test compares that with what the operations guide asks for.
import json
import pwd
import sys

from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.events import getEventNameByType
from supervisor.options import ClientOptions, EventListenerPoolConfig, ServerOptions

path = sys.argv[1]
server = ServerOptions()
server.configfile = path
server.process_config(do_usage=False)
client = ClientOptions()
client.configfile = path
client.process_config(do_usage=False)

def restart_mode(value):
    if value is RestartUnconditionally:
        return "true"
    if value is RestartWhenExitUnexpected:
        return "unexpected"
    return "false"

def logfile(value):
    return None if value is None else str(value)

groups = []
eventlisteners = []
for group in sorted(server.process_group_configs):
    if isinstance(group, EventListenerPoolConfig):
        for p in group.process_configs:
            eventlisteners.append({
                "name": p.name,
                "command": p.command,
                "events": sorted(getEventNameByType(t) for t in group.pool_events),
                "buffer_size": group.buffer_size,
                "user": None if p.uid is None else pwd.getpwuid(p.uid).pw_name,
                "autorestart": restart_mode(p.autorestart),
                "stdout_logfile": logfile(p.stdout_logfile),
                "stderr_logfile": logfile(p.stderr_logfile),
                "stderr_logfile_maxbytes": p.stderr_logfile_maxbytes,
                "stdout_events_enabled": p.stdout_events_enabled,
            })
        continue
    for p in group.process_configs:
        groups.append({
            "name": p.name,
            "priority": p.priority,
            "command": p.command,
            "directory": p.directory,
            "user": None if p.uid is None else pwd.getpwuid(p.uid).pw_name,
            "autostart": p.autostart,
            "autorestart": restart_mode(p.autorestart),
            "startsecs": p.startsecs,
            "startretries": p.startretries,
            "stopwaitsecs": p.stopwaitsecs,
            "stopsignal": int(p.stopsignal),
            "stdout_logfile": logfile(p.stdout_logfile),
            "stdout_logfile_maxbytes": p.stdout_logfile_maxbytes,
            "stdout_logfile_backups": p.stdout_logfile_backups,
            "stderr_logfile": logfile(p.stderr_logfile),
            "stderr_logfile_maxbytes": p.stderr_logfile_maxbytes,
            "stderr_logfile_backups": p.stderr_logfile_backups,
            "environment": p.environment or {},
            "stdout_events_enabled": p.stdout_events_enabled,
            "stderr_events_enabled": p.stderr_events_enabled,
        })

print(json.dumps({
    "nodaemon": server.configroot.supervisord.nodaemon,
    "logfile": logfile(server.configroot.supervisord.logfile),
    "socket": next((c["file"] for c in server.configroot.supervisord.server_configs if c["family"] == 1), None),
    "serverurl": client.serverurl,
    "programs": groups,
    "eventlisteners": eventlisteners,
}))
