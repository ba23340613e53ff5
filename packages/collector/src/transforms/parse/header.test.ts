import { describe, expect, it } from 'vitest';
import { messageStart } from './header.js';

const message = (line: string): string => line.slice(messageStart(line));

// Lines written from the formats' specifications and common defaults, not from any dataset.
describe('messageStart', () => {
  it.each([
    // RFC 3164 (syslog, systemd journal short format), with and without a priority
    ['Dec  6 02:37:01 gw-01 sshd[4121]: Accepted publickey for root from 10.0.0.5 port 51022 ssh2', 'Accepted'],
    ["<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", "'su root'"],
    ['Dec  6 02:37:01 gw-01 kernel: [ 1234.567890] usb 1-1: new high-speed USB device number 2', 'usb 1-1:'],
    // RFC 5424, structured data present and nil
    [
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry',
      'An application',
    ],
    ["<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed", "'su root'"],
    // ISO 8601 with T, zone and fraction; a host and a tag
    ['2026-12-06T02:37:01.123456+01:00 gw-01 systemd[1]: Started Session 5 of user pi.', 'Started Session'],
    // Java: comma fraction, thread, level, logger and a separator
    ['2026-12-06 02:37:01,123 [main] INFO  com.example.App - Started in 3.2 s', 'Started in'],
    [
      '2026-12-06 02:37:01.123  INFO 4121 --- [           main] c.e.demo.DemoApplication                 : Started DemoApplication in 2.1 seconds',
      'Started DemoApplication',
    ],
    ['2026-12-06 02:37:01,123 ERROR [pool-1-thread-3] org.example.Worker: Job 42 failed', 'Job 42'],
    // Python's logging default with names
    ['2026-12-06 02:37:01,123 - app.worker - WARNING - Retrying job 42', 'Retrying job'],
    // epoch seconds and milliseconds
    ['1733452621 host1 INFO job done in 3 s', 'job done'],
    ['1733452621123 worker started', 'worker started'],
    // bracketed timestamps and levels
    ['[2026-12-06T02:37:01Z] [error] upstream timed out', 'upstream timed'],
    [
      '[Sun Dec 06 02:37:01.123456 2026] [core:error] [pid 4121:tid 1403] [client 10.0.0.5:5122] AH00124: Request exceeded the limit',
      'Request exceeded',
    ],
    // nginx error log and the common/combined access log
    ['2026/12/06 02:37:01 [error] 4121#4121: *1 open() "/srv/x" failed (2: No such file or directory)', '*1 open()'],
    [
      '10.0.0.5 - - [06/Dec/2026:02:37:01 +0000] "GET /index.html HTTP/1.1" 200 612 "-" "curl/8.5.0"',
      '"GET /index.html',
    ],
    // klog (Kubernetes components), logcat, dmesg
    ['I1206 02:37:01.123456    4121 kubelet.go:2412] "SyncLoop ADD" source="api"', '"SyncLoop ADD"'],
    ['12-06 02:37:01.123  4121  4133 I ActivityManager: Start proc 5120:com.example/u0a85', 'Start proc'],
    ['[    1.234567] usb 1-1: new high-speed USB device number 2 using xhci_hcd', 'usb 1-1:'],
    // PostgreSQL's default prefix: time, zone, pid, then the severity
    ['2026-12-06 02:37:01.123 UTC [4121] LOG:  checkpoint starting: time', 'checkpoint starting'],
    ['2026-12-06 02:37:01.123 UTC [4121] ERROR:  relation "users" does not exist', 'relation "users"'],
    // a record number, a node and a facility before the time; capitals before the level
    ['48213 node-12 kern.warn 1733452621 1 disk sda slow', 'disk sda'],
    [
      '- 1733452621 2026.12.06 rack3-n12 2026-12-06-02.37.01.123456 rack3-n12 RAS KERNEL INFO cache error corrected',
      'cache error',
    ],
    // a level and a padded component code; a level alone
    ['2026-12-06 02:37:01 WARN  NET    link down on eth0', 'link down'],
    ['[WARN] disk 91% full', 'disk 91%'],
    ['2026-12-06 02:37:01 ERROR Error: cannot open /etc/x', 'Error: cannot'],
  ])('%s', (line, start) => {
    expect(message(line).startsWith(start)).toBe(true);
  });

  it.each([
    'Connection refused by peer 10.0.0.5',
    'Error: cannot open file /etc/x',
    'Usage: prog [options]',
    'GET /index.html 200 12ms',
    '{"level":"info","msg":"started","ts":1733452621}',
    'level=info msg="started" ts=2026-12-06T02:37:01Z',
    '\tat com.example.App.main(App.java:42)',
    'Caused by: java.io.IOException: Broken pipe',
    '',
    // a header and nothing after it: the line is kept whole (an empty message groups nothing)
    '2026-12-06 02:37:01 INFO',
  ])('no header: %s', (line) => {
    expect(messageStart(line)).toBe(0);
  });

  it('leaves a message whose first words are a word and a colon after the time (`http: ...`)', () => {
    expect(message('2026/12/06 02:37:01 http: TLS handshake error from 10.0.0.5:5122: EOF')).toBe(
      'http: TLS handshake error from 10.0.0.5:5122: EOF',
    );
  });

  it('keeps counts after the level even in the range of epoch seconds', () => {
    expect(message('2026-12-06 02:37:01 INFO 1733452621 bytes sent')).toBe('1733452621 bytes sent');
    expect(message('2026-12-06 02:37:01 INFO 3 retries left')).toBe('3 retries left');
  });

  it('cuts the same header for every line of one format, whatever the values', () => {
    const lines = [
      'Dec  6 02:37:01 gw-01 app[1]: queue full',
      'Dec 16 12:07:59 gateway-b app[34567]: queue full',
      'Jan  1 00:00:00 10.0.0.7 app[2]: queue full',
    ];
    expect(new Set(lines.map(message))).toEqual(new Set(['queue full']));
  });
});
