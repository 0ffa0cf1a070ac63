// api.js — the page's client of ecgnetd's JSON API (docs/api.md): session, CSRF header, errors.
import { t } from './i18n.js';

/** An API answer that was not 2xx: status and the server's {"error"} text. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let csrf = ''; // from /api/login or /api/me; sent on every state-changing request
let onLoggedOut = () => {};

/** Calls FN when the server says the session is gone (401), so that the page shows the login. */
export function setLoggedOutHandler(fn) {
  onLoggedOut = fn;
}

/** METHOD PATH with BODY (an object, sent as JSON); resolves to the parsed JSON answer (null for
 * 204), rejects with ApiError (status 0 when the server cannot be reached). */
export async function request(method, path, body) {
  // Every write carries a JSON body, if only {}: ecgnetd answers a bodiless POST twice (see the
  // report of the web task), and a body costs nothing.
  if (method !== 'GET' && body === undefined) body = {};
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, t('api.unreachable', { message: e.message }));
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, t('api.unreadable', { path }));
    }
  }
  if (!res.ok) {
    const msg = (json && json.error) || `${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/api/login') onLoggedOut();
    throw new ApiError(res.status, msg);
  }
  return json;
}

export async function login(name, password) {
  const r = await request('POST', '/api/login', { name, password });
  csrf = r.csrf;
  return r.user;
}

/** The logged-in user, or null when there is no session. */
export async function me() {
  try {
    const r = await request('GET', '/api/me');
    csrf = r.csrf;
    return r.user;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function logout() {
  try {
    await request('POST', '/api/logout');
  } finally {
    csrf = '';
  }
}

/** FILTER: {priority, review} (empty strings: any). */
export function worklist(filter = {}) {
  const q = new URLSearchParams();
  if (filter.priority) q.set('priority', filter.priority);
  if (filter.review) q.set('review', filter.review);
  const s = q.toString();
  return request('GET', '/api/worklist' + (s ? '?' + s : '')).then((r) => r.recordings);
}

export const recording = (id) => request('GET', `/api/recordings/${id}`);

/** Samples FROM.. (COUNT samples, every STEP-th) of recording ID, in microvolts per lead. */
export function signal(id, from, count, step) {
  return request('GET', `/api/recordings/${id}/signal?from=${from}&count=${count}&step=${step}`);
}

export const claim = (id) => request('POST', `/api/recordings/${id}/claim`);
export const release = (id) => request('POST', `/api/recordings/${id}/release`);
export const saveReport = (id, statements, text) => request('PUT', `/api/recordings/${id}/report`, { statements, text });
export const sign = (id, password) => request('POST', `/api/recordings/${id}/sign`, { password });
export const amend = (id, statements, text, password) =>
  request('POST', `/api/recordings/${id}/amend`, { statements, text, password });
export const repeat = (id, reason) => request('POST', `/api/recordings/${id}/repeat`, { reason });
export const history = (id) => request('GET', `/api/recordings/${id}/history`).then((r) => r.reports);

export function patientRecordings(patientId, excludeId) {
  return request('GET', `/api/patients/${encodeURIComponent(patientId)}/recordings?exclude=${excludeId}`).then(
    (r) => r.recordings,
  );
}

// Critical values (危急值, docs/api.md section 14).
/** The cardiologist confirms a critical value: FINDING, whom at the clinic was told (NOTIFIED)
 * and when (NOTIFIED_MS, Unix ms; null: now). Resolves to the notice. */
export function confirmCritical(id, finding, notified, notifiedMs) {
  const body = { finding, notified };
  if (notifiedMs !== null && notifiedMs !== undefined) body.notified_ms = notifiedMs;
  return request('POST', `/api/recordings/${id}/critical`, body).then((r) => r.critical);
}
/** The clinic acknowledges recording ID's critical value. Resolves to the notice. */
export const ackCritical = (id) => request('POST', `/api/recordings/${id}/critical/ack`).then((r) => r.critical);
/** The notices the user may see; OPEN: only those not acknowledged yet (escalated first). */
export const criticalNotices = (open) => request('GET', `/api/critical${open ? '?open=1' : ''}`).then((r) => r.critical);
