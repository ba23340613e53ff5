/**
 * Logs of systems unlike the ten Loghub datasets, generated with known events, to check that the
 * template miner generalises (nothing here was used to choose its settings). Each system writes
 * its lines as the real one does (header included); each event is one logging statement, its
 * parameters drawn to vary in length and shape (paths, URLs, quoted strings, user agents, SQL,
 * durations, sizes, lists, optional fields), and some events differ from others in one constant
 * word only (`Started`/`Stopped`). What is an event follows the Loghub annotators' conventions as
 * far as they are known: words from a small closed set (methods, states, booleans, error reasons)
 * are constants of the template, and so is an optional field being there or not (OpenSSH's
 * `... rhost=<*>` and `... rhost=<*> user=<*>` are two events); names, ids, numbers, paths, SQL
 * and commands are parameters.
 * Seeded: the same lines every run.
 */

import { intIn, pick, seededRng, type Rng } from '@edge-telemetry/protocol/testing';

export interface SyntheticLines {
  name: string;
  lines: string[];
  /** events[i] is the event (logging statement) that wrote lines[i]. */
  events: string[];
}

const int = intIn;
const hex = (r: Rng, n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
const ip = (r: Rng): string => `${int(r, 10, 223)}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
const uuid = (r: Rng): string => `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WORDS = ['alpha', 'orders', 'billing', 'cache', 'users', 'reports', 'inventory', 'auth', 'search', 'media'];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar'];
const ERRORS = [
  'connection refused',
  'i/o timeout',
  'no such host',
  'connection reset by peer',
  'broken pipe',
  'context deadline exceeded',
  'TLS handshake timeout',
];

function path(r: Rng): string {
  const depth = int(r, 1, 5);
  return '/' + Array.from({ length: depth }, () => (r() < 0.3 ? String(int(r, 1, 9999)) : pick(r, WORDS))).join('/');
}

function url(r: Rng): string {
  const q =
    r() < 0.5 ? '' : '?' + Array.from({ length: int(r, 1, 3) }, () => `${pick(r, WORDS)}=${int(r, 0, 99)}`).join('&');
  return path(r) + q;
}

function userAgent(r: Rng): string {
  return pick(r, [
    `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${int(r, 100, 125)}.0.0.0 Safari/537.36`,
    `Mozilla/5.0 (X11; Linux x86_64; rv:${int(r, 100, 125)}.0) Gecko/20100101 Firefox/${int(r, 100, 125)}.0`,
    `curl/${int(r, 7, 8)}.${int(r, 0, 88)}.0`,
    `kube-probe/1.${int(r, 20, 30)}`,
    `Go-http-client/1.1`,
    `python-requests/2.${int(r, 20, 31)}.0`,
  ]);
}

function duration(r: Rng): string {
  return pick(r, [
    `${int(r, 1, 999)}ms`,
    `${(r() * 10).toFixed(3)}s`,
    `${int(r, 1, 59)}m${int(r, 0, 59)}s`,
    `${int(r, 1, 900)}µs`,
  ]);
}

function size(r: Rng): string {
  return pick(r, [
    `${int(r, 1, 1023)} B`,
    `${(r() * 900).toFixed(1)} KB`,
    `${(r() * 90).toFixed(2)} MB`,
    `${int(r, 1, 8)} GB`,
  ]);
}

/** Picks one of a closed set of words that is part of the event (Loghub's annotators keep such words constant: `force=true` and `force=false` are two events), and records it in the event's id. */
type Variant = <T>(xs: readonly T[]) => T;

interface EventDef {
  id: string;
  weight: number;
  make(r: Rng, t: Date, v: Variant): string;
}

interface SystemDef {
  name: string;
  events: EventDef[];
}

const iso = (t: Date): string => t.toISOString();
const syslogTime = (t: Date): string =>
  `${MONTHS[t.getUTCMonth()] as string} ${String(t.getUTCDate()).padStart(2, ' ')} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;

const NGINX: SystemDef = {
  name: 'nginx',
  events: [
    // One statement, but the method is a constant of the template, as the Loghub annotators
    // treat it (OpenStack's `"GET <*>"`, `"POST <*>"`): one event per method.
    ...['GET', 'POST', 'PUT', 'DELETE', 'HEAD'].map((method): EventDef => ({
      id: `access_${method}`,
      weight: method === 'GET' ? 40 : 5,
      make: (r, t) =>
        `${ip(r)} - ${r() < 0.8 ? '-' : pick(r, USERS)} [${pad(t.getUTCDate())}/${MONTHS[t.getUTCMonth()] as string}/${t.getUTCFullYear()}:${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +0000] "${method} ${url(r)} HTTP/1.1" ${pick(r, [200, 200, 201, 204, 301, 404, 500])} ${int(r, 0, 90000)} "${r() < 0.5 ? '-' : 'https://example.com' + path(r)}" "${userAgent(r)}"`,
    })),
    {
      id: 'open_failed',
      weight: 8,
      make: (r, t) =>
        `${iso(t).slice(0, 19).replace('T', ' ').replace(/-/g, '/')} [error] ${int(r, 1, 40)}#${int(r, 0, 3)}: *${int(r, 1, 99999)} open() "/usr/share/nginx/html${path(r)}" failed (2: No such file or directory), client: ${ip(r)}, server: ${pick(r, ['localhost', 'api.example.com', 'www.example.org'])}, request: "GET ${url(r)} HTTP/1.1", host: "${pick(r, ['example.com', 'api.example.com'])}"`,
    },
    {
      id: 'upstream_timeout',
      weight: 6,
      make: (r, t) =>
        `${iso(t).slice(0, 19).replace('T', ' ').replace(/-/g, '/')} [error] ${int(r, 1, 40)}#${int(r, 0, 3)}: *${int(r, 1, 99999)} upstream timed out (110: Connection timed out) while reading response header from upstream, client: ${ip(r)}, server: ${pick(r, ['localhost', 'api.example.com'])}, request: "${pick(r, ['GET', 'POST'])} ${url(r)} HTTP/1.1", upstream: "http://${ip(r)}:${int(r, 1024, 9999)}${url(r)}", host: "api.example.com"`,
    },
    {
      id: 'buffered',
      weight: 4,
      make: (r, t) =>
        `${iso(t).slice(0, 19).replace('T', ' ').replace(/-/g, '/')} [warn] ${int(r, 1, 40)}#${int(r, 0, 3)}: *${int(r, 1, 99999)} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/${int(r, 0, 9)}/${pad(int(r, 0, 99))}/${pad(int(r, 0, 9999999), 10)} while reading upstream, client: ${ip(r)}, server: localhost, request: "GET ${url(r)} HTTP/1.1"`,
    },
    {
      id: 'signal_started',
      weight: 1,
      make: (_r, t) =>
        `${iso(t).slice(0, 19).replace('T', ' ').replace(/-/g, '/')} [notice] 1#1: signal process started`,
    },
    {
      id: 'reopen',
      weight: 1,
      make: (_r, t) => `${iso(t).slice(0, 19).replace('T', ' ').replace(/-/g, '/')} [notice] 1#1: reopening logs`,
    },
  ],
};

const klog = (r: Rng, t: Date, level: string, file: string): string =>
  `${level}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}.${pad(int(r, 0, 999999), 6)}    ${int(r, 900, 2000)} ${file}:${int(r, 100, 3000)}]`;
const pod = (r: Rng): string =>
  `${pick(r, ['default', 'kube-system', 'monitoring', 'shop'])}/${pick(r, WORDS)}-${hex(r, 9)}-${hex(r, 5)}`;

const KUBELET: SystemDef = {
  name: 'kubelet',
  events: [
    {
      id: 'pleg',
      weight: 20,
      make: (r, t, v) =>
        `${klog(r, t, 'I', 'kubelet.go')} "SyncLoop (PLEG): event for pod" pod="${pod(r)}" event={ID:${uuid(r)} Type:${v(['ContainerStarted', 'ContainerDied'])} Data:${hex(r, 64)}}`,
    },
    {
      id: 'probe_failed',
      weight: 12,
      make: (r, t, v) =>
        `${klog(r, t, 'I', 'prober.go')} "Probe failed" probeType="${v(['Readiness', 'Liveness', 'Startup'])}" pod="${pod(r)}" podUID=${uuid(r)} containerName="${pick(r, WORDS)}" probeResult=failure output="Get \\"http://${ip(r)}:${int(r, 1024, 9999)}${path(r)}\\": ${v(ERRORS)}"`,
    },
    {
      id: 'volume_mounted',
      weight: 10,
      make: (r, t) =>
        `${klog(r, t, 'I', 'operation_generator.go')} "MountVolume.SetUp succeeded for volume \\"${pick(r, ['kube-api-access', 'config', 'data', 'tls-certs'])}-${hex(r, 5)}\\" (UniqueName: \\"kubernetes.io/projected/${uuid(r)}-kube-api-access-${hex(r, 5)}\\") pod \\"${pick(r, WORDS)}-${hex(r, 5)}\\" (UID: \\"${uuid(r)}\\") " pod="${pod(r)}"`,
    },
    {
      id: 'back_off',
      weight: 8,
      make: (r, t) =>
        `${klog(r, t, 'E', 'pod_workers.go')} "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"${pick(r, WORDS)}\\" with CrashLoopBackOff: \\"back-off ${pick(r, ['10s', '20s', '40s', '1m20s', '2m40s', '5m0s'])} restarting failed container=${pick(r, WORDS)} pod=${pick(r, WORDS)}-${hex(r, 5)}_${pick(r, ['default', 'shop'])}(${uuid(r)})\\"" pod="${pod(r)}" podUID=${uuid(r)}`,
    },
    {
      id: 'image_pulled',
      weight: 5,
      make: (r, t) =>
        `${klog(r, t, 'I', 'event.go')} "Event occurred" object="${pod(r)}" kind="Pod" apiVersion="v1" type="Normal" reason="Pulled" message="Successfully pulled image \\"registry.example.com/${pick(r, WORDS)}:v${int(r, 1, 9)}.${int(r, 0, 20)}\\" in ${duration(r)}"`,
    },
    {
      id: 'container_started',
      weight: 5,
      make: (r, t) =>
        `${klog(r, t, 'I', 'kuberuntime_manager.go')} "Started container" containerName="${pick(r, WORDS)}" pod="${pod(r)}"`,
    },
    {
      id: 'container_killed',
      weight: 5,
      make: (r, t) =>
        `${klog(r, t, 'I', 'kuberuntime_manager.go')} "Killing container with a grace period" containerName="${pick(r, WORDS)}" pod="${pod(r)}" gracePeriod=${pick(r, [30, 60, 10])}`,
    },
    {
      id: 'eviction',
      weight: 2,
      make: (r, t, v) =>
        `${klog(r, t, 'W', 'eviction_manager.go')} "Eviction manager: attempting to reclaim" resourceName="${v(['memory', 'ephemeral-storage', 'nodefs.inodesFree'])}"`,
    },
  ],
};

const unit = (r: Rng): { name: string; description: string } =>
  pick(r, [
    { name: 'nginx.service', description: 'The nginx HTTP and reverse proxy server' },
    { name: 'apt-daily.service', description: 'Daily apt download activities' },
    { name: 'apt-daily-upgrade.service', description: 'Daily apt upgrade and clean activities' },
    { name: 'logrotate.service', description: 'Rotate log files' },
    { name: 'docker.service', description: 'Docker Application Container Engine' },
    { name: 'ssh.service', description: 'OpenBSD Secure Shell server' },
    { name: 'systemd-tmpfiles-clean.service', description: 'Cleanup of Temporary Directories' },
    { name: 'man-db.service', description: 'Daily man-db regeneration' },
    { name: 'fwupd-refresh.service', description: 'Refresh fwupd metadata and update motd' },
  ]);

const journal = (r: Rng, t: Date, proc: string): string =>
  `${syslogTime(t)} ${pick(r, ['edge-gw-07', 'edge-gw-12'])} ${proc}[${int(r, 1, 40000)}]:`;

const SYSTEMD: SystemDef = {
  name: 'systemd',
  events: [
    { id: 'starting', weight: 10, make: (r, t) => `${journal(r, t, 'systemd')} Starting ${unit(r).description}...` },
    { id: 'started', weight: 10, make: (r, t) => `${journal(r, t, 'systemd')} Started ${unit(r).description}.` },
    { id: 'stopping', weight: 6, make: (r, t) => `${journal(r, t, 'systemd')} Stopping ${unit(r).description}...` },
    { id: 'stopped', weight: 6, make: (r, t) => `${journal(r, t, 'systemd')} Stopped ${unit(r).description}.` },
    {
      id: 'deactivated',
      weight: 8,
      make: (r, t) => `${journal(r, t, 'systemd')} ${unit(r).name}: Deactivated successfully.`,
    },
    {
      id: 'consumed',
      weight: 6,
      make: (r, t, v) =>
        `${journal(r, t, 'systemd')} ${unit(r).name}: Consumed ${(r() * 20).toFixed(3)}s CPU time${v(['peak', 'no-peak']) === 'peak' ? `, ${int(r, 1, 900)}M memory peak` : ''}.`,
    },
    {
      id: 'main_exited',
      weight: 4,
      make: (r, t) =>
        `${journal(r, t, 'systemd')} ${unit(r).name}: Main process exited, code=exited, status=${int(r, 1, 255)}/${pick(r, ['FAILURE', 'INVALIDARGUMENT', 'NOTINSTALLED'])}`,
    },
    {
      id: 'failed_result',
      weight: 4,
      make: (r, t, v) =>
        `${journal(r, t, 'systemd')} ${unit(r).name}: Failed with result '${v(['exit-code', 'timeout', 'signal', 'core-dump'])}'.`,
    },
    {
      id: 'session_new',
      weight: 5,
      make: (r, t) => `${journal(r, t, 'systemd-logind')} New session ${int(r, 1, 9999)} of user ${pick(r, USERS)}.`,
    },
    {
      id: 'session_removed',
      weight: 5,
      make: (r, t) => `${journal(r, t, 'systemd-logind')} Removed session ${int(r, 1, 9999)}.`,
    },
    {
      id: 'cron_cmd',
      weight: 8,
      make: (r, t) =>
        `${journal(r, t, 'CRON')} (${pick(r, ['root', ...USERS])}) CMD (${pick(r, [
          'test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )',
          '/usr/local/bin/backup.sh',
          'cd / && run-parts --report /etc/cron.hourly',
          `/usr/bin/find /tmp -mtime +${int(r, 1, 9)} -delete`,
          'command -v debian-sa1 > /dev/null && debian-sa1 1 1',
        ])})`,
    },
    {
      id: 'oom_kill',
      weight: 1,
      make: (r, t) =>
        `${syslogTime(t)} edge-gw-07 kernel: Out of memory: Killed process ${int(r, 100, 40000)} (${pick(r, ['java', 'node', 'python3', 'postgres'])}) total-vm:${int(r, 1000, 9000000)}kB, anon-rss:${int(r, 1000, 900000)}kB, file-rss:0kB, shmem-rss:0kB, UID:${int(r, 0, 1000)} pgtables:${int(r, 100, 9000)}kB oom_score_adj:0`,
    },
  ],
};

const SQL = [
  () => 'SELECT * FROM users WHERE id = $1',
  () =>
    'SELECT o.id, o.total FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = $1 ORDER BY o.created_at DESC LIMIT 50',
  () => 'UPDATE inventory SET qty = qty - $1 WHERE sku = $2',
  () => 'INSERT INTO audit_log (actor, action, at) VALUES ($1, $2, now())',
  () => 'DELETE FROM sessions WHERE expires_at < now()',
  () => 'COMMIT',
];

const pgPrefix = (r: Rng, t: Date): string => `${iso(t).slice(0, 23).replace('T', ' ')} UTC [${int(r, 100, 99999)}]`;

const POSTGRES: SystemDef = {
  name: 'postgres',
  events: [
    {
      id: 'duration_statement',
      weight: 25,
      make: (r, t) =>
        `${pgPrefix(r, t)} LOG:  duration: ${(r() * 3000).toFixed(3)} ms  statement: ${(pick(r, SQL) as () => string)()}`,
    },
    {
      id: 'connection_received',
      weight: 10,
      make: (r, t) => `${pgPrefix(r, t)} LOG:  connection received: host=${ip(r)} port=${int(r, 1024, 65535)}`,
    },
    {
      id: 'connection_authorized',
      weight: 10,
      make: (r, t, v) =>
        `${pgPrefix(r, t)} LOG:  connection authorized: user=${pick(r, ['app', 'report', 'postgres', 'replicator'])} database=${pick(r, ['appdb', 'analytics', 'postgres'])}${v(['named', 'unnamed']) === 'named' ? ` application_name=${pick(r, ['psql', 'pgbouncer', 'api'])}` : ''}`,
    },
    {
      id: 'disconnection',
      weight: 10,
      make: (r, t) =>
        `${pgPrefix(r, t)} LOG:  disconnection: session time: ${int(r, 0, 9)}:${pad(int(r, 0, 59))}:${pad(int(r, 0, 59))}.${pad(int(r, 0, 999), 3)} user=${pick(r, ['app', 'report', 'postgres'])} database=${pick(r, ['appdb', 'analytics'])} host=${ip(r)} port=${int(r, 1024, 65535)}`,
    },
    {
      id: 'relation_missing',
      weight: 4,
      make: (r, t) =>
        `${pgPrefix(r, t)} ERROR:  relation "${pick(r, ['public.', ''])}${pick(r, WORDS)}_${pick(r, ['v2', 'tmp', 'archive', 'old'])}" does not exist at character ${int(r, 1, 200)}`,
    },
    {
      id: 'auth_failed',
      weight: 4,
      make: (r, t) => `${pgPrefix(r, t)} FATAL:  password authentication failed for user "${pick(r, USERS)}"`,
    },
    {
      id: 'checkpoint_starting',
      weight: 3,
      make: (r, t, v) => `${pgPrefix(r, t)} LOG:  checkpoint starting: ${v(['time', 'wal', 'immediate force wait'])}`,
    },
    {
      id: 'checkpoint_complete',
      weight: 3,
      make: (r, t) =>
        `${pgPrefix(r, t)} LOG:  checkpoint complete: wrote ${int(r, 0, 9000)} buffers (${(r() * 10).toFixed(1)}%); 0 WAL file(s) added, ${int(r, 0, 3)} removed, ${int(r, 0, 3)} recycled; write=${(r() * 30).toFixed(3)} s, sync=${(r() * 0.1).toFixed(3)} s, total=${(r() * 30).toFixed(3)} s; sync files=${int(r, 0, 99)}, longest=${(r() * 0.1).toFixed(3)} s, average=${(r() * 0.01).toFixed(3)} s; distance=${int(r, 0, 99999)} kB, estimate=${int(r, 0, 99999)} kB`,
    },
    {
      id: 'autovacuum',
      weight: 3,
      make: (r, t) =>
        `${pgPrefix(r, t)} LOG:  automatic vacuum of table "${pick(r, ['appdb', 'analytics'])}.public.${pick(r, WORDS)}": index scans: ${int(r, 0, 3)}`,
    },
    {
      id: 'deadlock',
      weight: 1,
      make: (r, t) =>
        `${pgPrefix(r, t)} ERROR:  deadlock detected DETAIL: Process ${int(r, 100, 99999)} waits for ShareLock on transaction ${int(r, 1000, 9999999)}; blocked by process ${int(r, 100, 99999)}.`,
    },
  ],
};

const APP_MESSAGES: Array<{ id: string; msg: (r: Rng, v: Variant) => string; extra: (r: Rng, v: Variant) => string }> =
  [
    {
      id: 'request_completed',
      msg: () => 'request completed',
      extra: (r, v) =>
        `method=${v(['GET', 'POST', 'PUT'])} path=${url(r)} status=${pick(r, [200, 201, 404, 500])} duration=${duration(r)} bytes=${size(r).replace(' ', '')}`,
    },
    {
      id: 'cache_miss',
      msg: () => 'cache miss',
      extra: (r) => `key=${pick(r, WORDS)}:${int(r, 1, 99999)} ttl=${duration(r)}`,
    },
    {
      id: 'cache_hit',
      msg: () => 'cache hit',
      extra: (r) => `key=${pick(r, WORDS)}:${int(r, 1, 99999)} ttl=${duration(r)}`,
    },
    {
      id: 'upstream_error',
      msg: () => 'upstream call failed',
      extra: (r, v) =>
        `upstream=${pick(r, WORDS)} attempt=${int(r, 1, 5)} error="dial tcp ${ip(r)}:${int(r, 1024, 9999)}: ${v(ERRORS)}"`,
    },
    {
      id: 'job_done',
      msg: (_r, v) => `job ${v(['export', 'reindex', 'cleanup', 'sync'])} finished`,
      extra: (r) => `job_id=${uuid(r)} items=${int(r, 0, 100000)} took=${duration(r)}`,
    },
    {
      id: 'user_login',
      msg: () => 'user logged in',
      extra: (r, v) => `user=${pick(r, USERS)}@example.com ip=${ip(r)} mfa=${v(['true', 'false'])}`,
    },
    {
      id: 'user_logout',
      msg: () => 'user logged out',
      extra: (r, v) => `user=${pick(r, USERS)}@example.com ip=${ip(r)} mfa=${v(['true', 'false'])}`,
    },
    {
      id: 'config_loaded',
      msg: () => 'configuration loaded',
      extra: (r) =>
        `file=/etc/app/${pick(r, ['config', 'app', 'prod'])}.yaml features=[${Array.from({ length: int(r, 0, 4) }, () => pick(r, WORDS)).join(',')}]`,
    },
  ];

const LOGFMT: SystemDef = {
  name: 'logfmt-app',
  events: APP_MESSAGES.map((m, i) => ({
    id: m.id,
    weight: [30, 10, 20, 5, 5, 6, 6, 1][i] as number,
    make: (r, t, v) =>
      `time=${iso(t)} level=${m.id === 'upstream_error' ? 'error' : 'info'} caller=${pick(r, ['server', 'worker', 'cache'])}/${pick(r, ['handler', 'main', 'client'])}.go:${int(r, 10, 400)} msg="${m.msg(r, v)}" ${m.extra(r, v)}`,
  })),
};

const springPrefix = (r: Rng, t: Date, level: string, logger: string): string =>
  `${iso(t).slice(0, 23).replace('T', ' ')} ${level.padStart(5, ' ')} ${int(r, 1, 9)} --- [${pick(r, [`nio-8080-exec-${int(r, 1, 10)}`, 'main', `scheduling-${int(r, 1, 2)}`, `task-${int(r, 1, 8)}`])}] ${logger} :`;

const SPRING: SystemDef = {
  name: 'spring-boot',
  events: [
    {
      id: 'fetch_user',
      weight: 20,
      make: (r, t) => `${springPrefix(r, t, 'INFO', 'c.e.shop.web.UserController')} Fetching user ${int(r, 1, 99999)}`,
    },
    {
      id: 'order_placed',
      weight: 15,
      make: (r, t) =>
        `${springPrefix(r, t, 'INFO', 'c.e.shop.service.OrderService')} Order ${uuid(r)} placed by ${pick(r, USERS)} with ${int(r, 1, 9)} items totalling ${(r() * 900).toFixed(2)} EUR`,
    },
    {
      id: 'order_cancelled',
      weight: 5,
      make: (r, t) =>
        `${springPrefix(r, t, 'INFO', 'c.e.shop.service.OrderService')} Order ${uuid(r)} cancelled by ${pick(r, USERS)} with ${int(r, 1, 9)} items totalling ${(r() * 900).toFixed(2)} EUR`,
    },
    {
      id: 'hikari_stats',
      weight: 10,
      make: (r, t) =>
        `${springPrefix(r, t, 'DEBUG', 'com.zaxxer.hikari.pool.HikariPool')} HikariPool-1 - Pool stats (total=${int(r, 1, 10)}, active=${int(r, 0, 10)}, idle=${int(r, 0, 10)}, waiting=${int(r, 0, 3)})`,
    },
    {
      id: 'slow_query',
      weight: 5,
      make: (r, t) =>
        `${springPrefix(r, t, 'WARN', 'c.e.shop.repo.QueryLogger')} Slow query took ${int(r, 500, 9000)} ms: ${(pick(r, SQL) as () => string)()}`,
    },
    {
      id: 'payment_failed',
      weight: 4,
      make: (r, t, v) =>
        `${springPrefix(r, t, 'ERROR', 'c.e.shop.service.PaymentService')} Payment for order ${uuid(r)} failed: ${v(['card declined', 'insufficient funds', 'gateway timeout after 30 s', 'invalid CVC'])}`,
    },
    {
      id: 'started_app',
      weight: 1,
      make: (r, t) =>
        `${springPrefix(r, t, 'INFO', 'c.e.shop.ShopApplication')} Started ShopApplication in ${(r() * 20).toFixed(3)} seconds (process running for ${(r() * 25).toFixed(3)})`,
    },
    {
      id: 'tomcat_started',
      weight: 1,
      make: (r, t) =>
        `${springPrefix(r, t, 'INFO', 'o.s.b.w.embedded.tomcat.TomcatWebServer')} Tomcat started on port ${pick(r, [8080, 8443])} (http) with context path '${pick(r, ['', '/api', '/shop'])}'`,
    },
  ],
};

const redisPrefix = (r: Rng, t: Date, role: string): string =>
  `${int(r, 1, 99)}:${role} ${pad(t.getUTCDate())} ${MONTHS[t.getUTCMonth()] as string} ${t.getUTCFullYear()} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}.${pad(int(r, 0, 999), 3)}`;

const REDIS: SystemDef = {
  name: 'redis',
  events: [
    {
      id: 'changes_saving',
      weight: 10,
      make: (r, t) =>
        `${redisPrefix(r, t, 'M')} * ${int(r, 1, 10000)} changes in ${pick(r, [60, 300, 900])} seconds. Saving...`,
    },
    {
      id: 'bgsave_started',
      weight: 10,
      make: (r, t) => `${redisPrefix(r, t, 'M')} * Background saving started by pid ${int(r, 100, 99999)}`,
    },
    { id: 'db_saved', weight: 10, make: (r, t) => `${redisPrefix(r, t, 'C')} * DB saved on disk` },
    {
      id: 'cow',
      weight: 10,
      make: (r, t) =>
        `${redisPrefix(r, t, 'C')} * Fork CoW for RDB: current ${int(r, 0, 99)} MB, peak ${int(r, 0, 99)} MB, average ${int(r, 0, 99)} MB`,
    },
    {
      id: 'bgsave_ok',
      weight: 10,
      make: (r, t) => `${redisPrefix(r, t, 'M')} * Background saving terminated with success`,
    },
    {
      id: 'replica_connected',
      weight: 2,
      make: (r, t) => `${redisPrefix(r, t, 'M')} * Replica ${ip(r)}:${int(r, 1024, 9999)} asks for synchronization`,
    },
    {
      id: 'client_closed',
      weight: 3,
      make: (r, t) =>
        `${redisPrefix(r, t, 'M')} - Client closed connection id=${int(r, 1, 99999)} addr=${ip(r)}:${int(r, 1024, 65535)} laddr=${ip(r)}:6379 fd=${int(r, 5, 999)} name=${r() < 0.5 ? '' : pick(r, WORDS)} age=${int(r, 0, 9999)} idle=${int(r, 0, 999)} flags=N db=0 sub=0 psub=0 multi=-1 qbuf=0 qbuf-free=0 obl=0 oll=0 omem=0 events=r cmd=${pick(r, ['get', 'set', 'hgetall', 'NULL'])} user=default`,
    },
  ],
};

const KERNEL: SystemDef = {
  name: 'kernel',
  events: [
    // Kernel lines as the journal's syslog view writes them: time since boot in brackets.
    ...['new high-speed', 'new SuperSpeed'].map((speed): EventDef => ({
      id: `usb_new:${speed}`,
      weight: 6,
      make: (r, t) =>
        `${syslogTime(t)} edge-gw-07 kernel: [${String((r() * 90000).toFixed(6)).padStart(12, ' ')}] usb ${int(r, 1, 4)}-${int(r, 1, 4)}${r() < 0.3 ? `.${int(r, 1, 4)}` : ''}: ${speed} USB device number ${int(r, 2, 120)} using xhci_hcd`,
    })),
    {
      id: 'usb_disconnect',
      weight: 8,
      make: (r, t) =>
        `${syslogTime(t)} edge-gw-07 kernel: [${String((r() * 90000).toFixed(6)).padStart(12, ' ')}] usb ${int(r, 1, 4)}-${int(r, 1, 4)}: USB disconnect, device number ${int(r, 2, 120)}`,
    },
    {
      id: 'link_state',
      weight: 10,
      make: (r, t, v) =>
        `${syslogTime(t)} edge-gw-07 kernel: [${String((r() * 90000).toFixed(6)).padStart(12, ' ')}] ${pick(r, ['eth0', 'eth1', 'enp3s0', 'wlan0'])}: Link is ${v(['Up', 'Down'])}${v(['speed', 'none']) === 'speed' ? ` - ${pick(r, ['100Mbps', '1Gbps', '2.5Gbps'])}/Full - flow control ${v(['off', 'rx/tx'])}` : ''}`,
    },
    {
      id: 'ufw_block',
      weight: 20,
      make: (r, t, v) =>
        `${syslogTime(t)} edge-gw-07 kernel: [${String((r() * 90000).toFixed(6)).padStart(12, ' ')}] [UFW BLOCK] IN=${pick(r, ['eth0', 'wlan0'])} OUT= MAC=${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)}:${hex(r, 2)} SRC=${ip(r)} DST=${ip(r)} LEN=${int(r, 40, 1500)} TOS=0x00 PREC=0x00 TTL=${int(r, 30, 128)} ID=${int(r, 0, 65535)} PROTO=${v(['TCP', 'UDP'])} SPT=${int(r, 1024, 65535)} DPT=${int(r, 1, 65535)} LEN=${int(r, 8, 1400)}`,
    },
    {
      id: 'segfault',
      weight: 3,
      make: (r, t) =>
        `${syslogTime(t)} edge-gw-07 kernel: [${String((r() * 90000).toFixed(6)).padStart(12, ' ')}] ${pick(r, ['node', 'python3', 'collector', 'gst-launch-1.0'])}[${int(r, 100, 40000)}]: segfault at ${hex(r, 12)} ip ${hex(r, 16)} sp ${hex(r, 16)} error ${int(r, 4, 7)} in ${pick(r, ['libc.so.6', 'libstdc++.so.6.0.30', 'node'])}[${hex(r, 12)}+${hex(r, 6)}]`,
    },
  ],
};

const javaPrefix = (r: Rng, t: Date, level: string, logger: string): string =>
  `${iso(t).slice(0, 23).replace('T', ' ').replace('.', ',')} ${level.padEnd(5, ' ')} [${pick(r, ['main', 'http-nio-8080-exec-' + int(r, 1, 40), 'pool-2-thread-' + int(r, 1, 9), 'scheduling-1'])}] ${logger} -`;
const javaClass = (r: Rng): string =>
  `${pick(r, ['com.example', 'org.acme', 'io.edge'])}.${pick(r, WORDS)}.${pick(r, ['OrderService', 'Repository', 'Handler', 'Client', 'Worker'])}`;

const JAVA: SystemDef = {
  name: 'java-stacktraces',
  events: [
    {
      id: 'request_failed',
      weight: 6,
      make: (r, t) => `${javaPrefix(r, t, 'ERROR', 'com.example.web.ErrorHandler')} Request ${url(r)} failed`,
    },
    {
      id: 'exception_line',
      weight: 6,
      make: (r) =>
        `${pick(r, ['java.io.IOException', 'java.lang.IllegalStateException', 'java.net.SocketTimeoutException'])}: ${pick(r, ERRORS)}`,
    },
    // Stack frames: one logging statement printed them all (`at <*>`), whatever the method.
    {
      id: 'frame',
      weight: 40,
      make: (r) =>
        `\tat ${javaClass(r)}.${pick(r, ['run', 'handle', 'lambda$process$3', 'doFilter', 'invoke0'])}(${r() < 0.15 ? 'Native Method' : `${pick(r, ['OrderService', 'Handler', 'Worker'])}.java:${int(r, 10, 900)}`})`,
    },
    {
      id: 'caused_by',
      weight: 4,
      make: (r) =>
        `Caused by: ${pick(r, ['java.net.ConnectException', 'java.sql.SQLTransientConnectionException'])}: ${pick(r, ERRORS)}`,
    },
    { id: 'more', weight: 4, make: (r) => `\t... ${int(r, 1, 120)} more` },
    {
      id: 'started',
      weight: 3,
      make: (r, t) =>
        `${javaPrefix(r, t, 'INFO', 'com.example.Application')} Started Application in ${(r() * 20).toFixed(3)} seconds (process running for ${(r() * 25).toFixed(3)})`,
    },
    {
      id: 'slow_query',
      weight: 8,
      make: (r, t) =>
        `${javaPrefix(r, t, 'WARN', 'org.acme.db.QueryLogger')} Slow query (${int(r, 500, 9000)} ms): ${(pick(r, SQL) as () => string)()}`,
    },
  ],
};

const JSON_APP: SystemDef = {
  name: 'json-in-message',
  events: [
    // One statement per event name: the name is a constant word, the rest are values.
    ...['login', 'logout', 'token_refresh'].map((name): EventDef => ({
      id: `audit:${name}`,
      weight: name === 'token_refresh' ? 20 : 10,
      make: (r, t) =>
        `${iso(t)} INFO audit: {"event":"${name}","user":"${pick(r, USERS)}","ip":"${ip(r)}","session":"${uuid(r)}","ms":${int(r, 1, 900)}}`,
    })),
    {
      id: 'cache_stats',
      weight: 15,
      make: (r, t) =>
        `${iso(t)} INFO cache: {"hits":${int(r, 0, 99999)},"misses":${int(r, 0, 9999)},"keys":[${Array.from({ length: int(r, 1, 4) }, () => `"${pick(r, WORDS)}"`).join(',')}],"ratio":${r().toFixed(3)}}`,
    },
    {
      id: 'http_error',
      weight: 8,
      make: (r, t) =>
        `${iso(t)} ERROR http: {"method":"${pick(r, ['GET', 'POST'])}","path":"${url(r)}","status":${pick(r, [500, 502, 503])},"error":"${pick(r, ERRORS)}"}`,
    },
  ],
};

export const SYSTEMS: readonly SystemDef[] = [
  NGINX,
  KUBELET,
  SYSTEMD,
  POSTGRES,
  LOGFMT,
  SPRING,
  REDIS,
  KERNEL,
  JAVA,
  JSON_APP,
];

/** `count` lines per system, events drawn by weight, times one to three seconds apart. */
export function syntheticLogs(count = 2000, seed = 17): SyntheticLines[] {
  return SYSTEMS.map((s, k) => {
    const r = seededRng(seed * 1000 + k);
    const total = s.events.reduce((a, e) => a + e.weight, 0);
    const lines: string[] = [];
    const events: string[] = [];
    let t = Date.UTC(2026, 2, 1, 8, 0, 0);
    for (let i = 0; i < count; i++) {
      let w = r() * total;
      let e = s.events[0] as EventDef;
      for (const x of s.events) {
        w -= x.weight;
        if (w < 0) {
          e = x;
          break;
        }
      }
      t += int(r, 1000, 3000);
      let id = e.id;
      const v: Variant = (xs) => {
        const x = pick(r, xs);
        id += `:${String(x)}`;
        return x;
      };
      lines.push(e.make(r, new Date(t), v));
      events.push(id);
    }
    return { name: s.name, lines, events };
  });
}
