// live.js — the live worklist socket (docs/api.md section 13): ws(s)://host/api/worklist/live with
// the subprotocol ecgnet.worklist.v1; every message means "the queue changed, re-read it".
// Reconnects with a growing, jittered delay when the connection drops.

export const LIVE_PROTOCOL = 'ecgnet.worklist.v1';
export const LIVE_PATH = '/api/worklist/live';
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

export class Live {
  /** ON_CHANGE(stamp) for each message; ON_STATE(live) when the connection opens (true) or
   * drops (false). */
  constructor(onChange, onState) {
    this.onChange = onChange;
    this.onState = onState;
    this.ws = null;
    this.timer = null;
    this.failures = 0;
    this.wanted = false;
    this.live = false;
  }

  /** Connects (after the login: the socket is let in by the session cookie). */
  start() {
    this.wanted = true;
    this.failures = 0;
    if (!this.ws && !this.timer) this.connect();
  }

  /** Closes and stops reconnecting (logout, session ended). */
  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onerror = ws.onmessage = ws.onopen = null;
      ws.close(1000, 'logged out');
    }
    this.setState(false);
  }

  connect() {
    this.timer = null;
    if (!this.wanted) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${LIVE_PATH}`;
    let ws;
    try {
      ws = new WebSocket(url, LIVE_PROTOCOL);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0;
      this.setState(true);
    };
    ws.onmessage = (e) => {
      let m = null;
      try {
        m = JSON.parse(e.data);
      } catch {
        return; // not ours to read: ignored
      }
      if (m && m.type === 'worklist') this.onChange(m.stamp);
    };
    // A refused upgrade (session ended) or a dropped connection both end here.
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState(false);
      this.retry();
    };
  }

  retry() {
    if (!this.wanted || this.timer) return;
    this.failures++;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 5));
    // Jitter, so that the pages of a county do not all come back in the same instant.
    this.timer = setTimeout(() => this.connect(), base * (0.75 + Math.random() * 0.5));
  }

  setState(live) {
    if (live === this.live) return;
    this.live = live;
    this.onState(live);
  }
}
