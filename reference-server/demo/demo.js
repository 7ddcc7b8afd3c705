// The demo page: connects the chosen stream to the feed with the reference browser client's
// pushlet(). Server data reaches the page only through textContent (never innerHTML).
import { pushlet } from '/xanjax-client.js';

const endpoint = new URL(document.documentElement.dataset.endpoint, location.href).href;
const $ = (id) => document.getElementById(id);
const feed = $('feed');
const board = $('board');
const streamSelect = $('stream');
const paramsInput = $('params');

/** Keeps the page light however long the stream runs. */
const MAX_FEED_ITEMS = 300;

/** Params worth trying per stream; anything else starts from {}. */
const EXAMPLES = {
  ticker: { intervalMs: 400 },
  'ssp.counter': { count: 100, intervalMs: 150 },
  'ssp.ticker': { intervalMs: 500 },
  'ssp.burst': { count: 40 },
  'ssp.fail': { after: 8, message: 'the demo failure' },
};

let current;
let counts;
const tiles = new Map();

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function setCount(id, value) {
  $(id).textContent = String(value);
}

/** A price tick gets a row and updates its symbol's tile; anything else shows seq and JSON. */
function render(event) {
  counts.events += 1;
  setCount('events', counts.events);
  setCount('seq', event.seq);
  while (feed.childElementCount >= MAX_FEED_ITEMS) feed.firstElementChild.remove();
  const row = element('li', 'row');
  row.append(element('span', 'seq', event.seq));
  const data = event.data;
  if (data && typeof data === 'object' && typeof data.symbol === 'string' && typeof data.price === 'number') {
    const direction = data.change >= 0 ? 'up' : 'down';
    row.classList.add(direction);
    const change = `${data.change >= 0 ? '+' : ''}${Number(data.change).toFixed(2)}`;
    row.append(
      element('span', 'symbol', data.symbol),
      element('span', 'price', data.price.toFixed(2)),
      element('span', 'change', change),
      element('span', 'time', new Date(data.at).toLocaleTimeString()),
    );
    updateTile(data.symbol, data.price, change, direction);
  } else {
    row.append(element('span', 'data', JSON.stringify(data)));
  }
  return row;
}

function updateTile(symbol, price, change, direction) {
  let tile = tiles.get(symbol);
  if (!tile) {
    tile = element('div', 'tile');
    tile.append(element('span', 'symbol', symbol), element('span', 'price'), element('span', 'change'));
    tiles.set(symbol, tile);
    board.append(tile);
    board.hidden = false;
  }
  tile.className = `tile ${direction}`;
  tile.children[1].textContent = price.toFixed(2);
  tile.children[2].textContent = change;
}

// pushlet() reports the stream's state in data-ssp-state on the feed element.
new MutationObserver(() => {
  const state = feed.dataset.sspState ?? 'connecting';
  const pill = $('state');
  pill.dataset.state = state;
  pill.textContent = state;
  $('close').disabled = state !== 'connecting' && state !== 'live';
}).observe(feed, { attributes: true, attributeFilter: ['data-ssp-state'] });

// Follow the feed (events and pushlet's end marker) unless the reader scrolled up.
let following = true;
feed.addEventListener('scroll', () => (following = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 40));
new MutationObserver(() => {
  if (following) feed.scrollTop = feed.scrollHeight;
}).observe(feed, { childList: true });

// Every request to the endpoint (open, polls, close) shows up as a resource timing entry.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.name === endpoint && counts) setCount('polls', ++counts.requests);
  }
  performance.clearResourceTimings();
}).observe({ type: 'resource' });

async function start() {
  let params;
  try {
    params = JSON.parse(paramsInput.value || '{}');
    paramsInput.removeAttribute('aria-invalid');
  } catch {
    paramsInput.setAttribute('aria-invalid', 'true');
    return;
  }
  $('restart').disabled = true;
  try {
    await current?.close();
  } finally {
    $('restart').disabled = false;
  }
  feed.replaceChildren();
  board.replaceChildren();
  board.hidden = true;
  tiles.clear();
  counts = { events: 0, requests: 0 };
  setCount('events', 0);
  setCount('seq', 0);
  setCount('polls', 0);
  current = pushlet(feed, { endpoint, stream: streamSelect.value, params, render });
}

function describeStream(stream) {
  $('description').textContent = stream ? `${stream.description ?? ''}${stream.resumable ? ' (resumable)' : ''}` : '';
}

async function main() {
  const discovery = await (await fetch(endpoint)).json();
  const streams = discovery.streams;
  for (const stream of streams) streamSelect.append(new Option(stream.name, stream.name));
  const initial = new URLSearchParams(location.search).get('stream') ?? (streams.some((s) => s.name === 'ticker') ? 'ticker' : streams[0]?.name);
  streamSelect.value = initial ?? '';
  const select = () => {
    const stream = streams.find((s) => s.name === streamSelect.value);
    paramsInput.value = JSON.stringify(EXAMPLES[streamSelect.value] ?? {});
    describeStream(stream);
  };
  select();
  streamSelect.addEventListener('change', () => {
    select();
    void start();
  });
  $('restart').addEventListener('click', () => void start());
  $('close').addEventListener('click', () => void current?.close());
  paramsInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') void start();
  });
  if (streamSelect.value) await start();
}

main().catch((error) => {
  feed.append(element('li', 'ssp-termination ssp-error', `cannot reach ${endpoint}: ${error.message}`));
});
