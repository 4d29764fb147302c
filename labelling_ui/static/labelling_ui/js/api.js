// Small fetch wrapper for FormLab's JSON API: session cookie + CSRF header, typed errors.

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.detail || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || `http_${status}`;
    this.body = body;
  }
}

// The request never got an answer (offline, connection dropped, server down).
export class NetworkError extends Error {}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function api(method, url, body) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new NetworkError(String(exc && exc.message || exc));
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (exc) {
    if (response.ok) throw new NetworkError("The answer was cut off.");
  }
  if (!response.ok) {
    if (response.status >= 500) throw new NetworkError(`Server error ${response.status}`);
    throw new ApiError(response.status, data);
  }
  return data;
}

export async function fetchBinary(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (exc) {
    throw new NetworkError(String(exc && exc.message || exc));
  }
  if (!response.ok) throw new ApiError(response.status, null);
  return response.arrayBuffer();
}

// A fresh idempotency key (32 hex characters). crypto.randomUUID needs a secure context, so
// fall back to getRandomValues on plain-http deployments.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// POST until the server answers. Only a lost answer (NetworkError) is retried, always with the
// same body and therefore the same client key: the server stores it once and replays its answer.
export async function postWithRetry(url, body, { onRetry = () => {}, maxDelayMs = 8000 } = {}) {
  let delay = 400;
  for (let attempt = 1; ; attempt++) {
    try {
      return await api("POST", url, body);
    } catch (exc) {
      if (!(exc instanceof NetworkError)) throw exc;
      onRetry(attempt, exc);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}
