// @ts-check
/** Number and time formatting shared by the pages: pure functions. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** @param {number} n */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** @param {number} n */
export function formatNumber(n) {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e6 || abs < 0.01)) return n.toExponential(2);
  return Number.isInteger(n) ? n.toLocaleString('en') : n.toLocaleString('en', { maximumFractionDigits: 2 });
}

/** "3 min ago" style, from an ISO time and the current time in ms. @param {string | null} iso @param {number} now */
export function formatAgo(iso, now) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** ISO time to "YYYY-MM-DD HH:MM:SS" UTC. @param {string | number} t */
export function formatTime(t) {
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}

/** Raw-equivalent bytes over uplink bytes, as "20.0x"; "–" when nothing was sent. @param {number} raw @param {number} uplink */
export function formatRatio(raw, uplink) {
  return uplink > 0 && raw > 0 ? `${(raw / uplink).toFixed(1)}x` : '–';
}

/** A bucket in seconds that gives about `points` points over the range, at least 60 s. @param {number} spanMs @param {number} points */
export function stepFor(spanMs, points) {
  return Math.max(60, Math.ceil(spanMs / 1000 / points / 60) * 60);
}
