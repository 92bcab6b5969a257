// Talking to the server: every request carries the page's token (from its <meta>), in a header
// for fetch and in the query for EventSource, which cannot send headers.
const TOKEN = document.querySelector('meta[name="runner-token"]').content;

function url(path, params = {}) {
  const query = new URLSearchParams({ ...params, token: TOKEN });
  return `${path}?${query}`;
}

async function answer(response) {
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) {
    const error = new Error(data.hint ? `${data.error}\n${data.hint}` : data.error);
    error.data = data;
    throw error;
  }
  return data;
}

export async function get(path, params) {
  return answer(await fetch(url(path, params), { headers: { "X-Runner-Token": TOKEN } }));
}

export async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Runner-Token": TOKEN },
    body: JSON.stringify(body),
  });
  return answer(response);
}

export function stream(path, params, handlers) {
  const source = new EventSource(url(path, params));
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handle(JSON.parse(message.data)));
  }
  return source;
}

export function fileUrl(run, path) {
  return url("/api/file", { run, path });
}
