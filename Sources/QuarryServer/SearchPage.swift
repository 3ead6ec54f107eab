/// The search page served at `/`: pick a collection, type a query, see the hits. The page
/// reads `?collection=`, `?q=` and `?k=` from its address and searches on load when `q` is set,
/// so a link (or a headless browser) can show results directly. With an API key, the key typed
/// into the page is kept in the browser's local storage and sent with each request.
let searchPageHTML = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Quarry search</title>
    <style>
    body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; padding: 0 1rem; color: #222; }
    form { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: 1rem; }
    input, select, button { font: inherit; padding: .35rem .5rem; }
    #q { flex: 1 1 20rem; }
    #k { width: 5rem; }
    .hit { margin: 0 0 1.1rem; }
    .hit a { font-size: 1.05rem; }
    .url { color: #1a7f37; font-size: .85rem; word-break: break-all; }
    .score { color: #666; font-size: .85rem; margin-left: .5rem; }
    .snippet { margin: .2rem 0 0; color: #444; }
    #status { color: #666; }
    #status.error { color: #b3261e; }
    </style>
    </head>
    <body>
    <h1>Quarry</h1>
    <form id="search">
      <select id="collection" aria-label="collection"></select>
      <input id="q" type="search" placeholder="Search…" aria-label="query" autofocus>
      <input id="k" type="number" min="1" max="1000" value="10" aria-label="k">
      <button type="submit">Search</button>
      <input id="key" type="password" placeholder="API key (if set)" aria-label="API key">
    </form>
    <p id="status"></p>
    <div id="hits"></div>
    <script>
    const $ = (id) => document.getElementById(id);
    const params = new URLSearchParams(location.search);
    $("key").value = localStorage.getItem("quarryKey") || "";

    function headers() {
      const h = { "Content-Type": "application/json" };
      const key = $("key").value.trim();
      if (key) h["Authorization"] = "Bearer " + key;
      return h;
    }

    function status(text, isError) {
      $("status").textContent = text;
      $("status").className = isError ? "error" : "";
    }

    async function call(method, path, body) {
      const response = await fetch(path, { method, headers: headers(), body: body && JSON.stringify(body) });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      return data;
    }

    async function loadCollections() {
      const data = await call("GET", "/v1/collections");
      const picker = $("collection");
      picker.replaceChildren(...data.collections.map((c) => {
        const option = document.createElement("option");
        option.value = c.name;
        option.textContent = c.name + " (" + c.documents + " documents)";
        return option;
      }));
      const wanted = params.get("collection");
      if (wanted) picker.value = wanted;
      if (!data.collections.length) status("No collections yet.", false);
    }

    function render(hits) {
      const list = $("hits");
      list.replaceChildren(...hits.map((hit) => {
        const item = document.createElement("div");
        item.className = "hit";
        const title = document.createElement("a");
        title.textContent = hit.title || hit.key;
        if (hit.url && /^https?:/i.test(hit.url)) title.href = hit.url;
        const score = document.createElement("span");
        score.className = "score";
        score.textContent = hit.score.toFixed(4);
        item.append(title, score);
        if (hit.url) {
          const url = document.createElement("div");
          url.className = "url";
          url.textContent = hit.url;
          item.append(url);
        }
        if (hit.snippet) {
          const snippet = document.createElement("p");
          snippet.className = "snippet";
          snippet.textContent = hit.snippet;
          item.append(snippet);
        }
        return item;
      }));
    }

    async function search() {
      const q = $("q").value.trim();
      const name = $("collection").value;
      if (!q || !name) return;
      localStorage.setItem("quarryKey", $("key").value.trim());
      const k = Math.max(1, parseInt($("k").value, 10) || 10);
      history.replaceState(null, "", "?" + new URLSearchParams({ collection: name, q, k }));
      status("Searching…", false);
      const started = performance.now();
      try {
        const data = await call("POST", "/v1/collections/" + encodeURIComponent(name) + "/search",
          { query: q, k, by_document: true, include: ["title", "url", "snippet"] });
        render(data.hits);
        status(data.hits.length + " hits in " + Math.round(performance.now() - started) + " ms", false);
      } catch (error) {
        render([]);
        status(error.message, true);
      }
    }

    $("search").addEventListener("submit", (event) => { event.preventDefault(); search(); });
    $("q").value = params.get("q") || "";
    $("k").value = params.get("k") || "10";
    loadCollections().then(search).catch((error) => status(error.message, true));
    </script>
    </body>
    </html>
    """#
