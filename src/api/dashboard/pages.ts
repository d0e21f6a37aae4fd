// The two HTML documents the api serves: `/` (links) and `/ui` (the dashboard's shell). Server-rendered
// and static: the navigation and the page frame paint before the script runs; the data comes from /api.

/** An icon in the page itself: browsers would otherwise ask for /favicon.ico, a 404 in every page's console. */
const ICON = `<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%230b57d0'/%3E%3Crect x='3' y='4' width='10' height='8' rx='1' fill='white'/%3E%3C/svg%3E">`;

/** The dashboard's shell; `version` makes the asset URLs change with each build (they are cached for good). */
export function dashboardPage(version: string, features: { storyboards: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storyboard-api dashboard</title>
${ICON}
<link rel="stylesheet" href="/ui/assets/app.css?v=${version}">
<script type="module" src="/ui/assets/app.js?v=${version}"></script>
</head>
<body data-storyboards="${features.storyboards ? 'yes' : 'no'}">
<header class="top">
  <a class="brand" href="#/queue">storyboard-api</a>
  <nav aria-label="Pages">
    <a href="#/storyboards" data-nav="storyboards"${features.storyboards ? '' : ' hidden'}>Storyboards</a>
    <a href="#/queue" data-nav="queue">Queue</a>
    <a href="#/tasks" data-nav="tasks">Tasks</a>
  </nav>
  <span id="live" class="live" role="status" aria-live="polite">connecting…</span>
</header>
<main id="main" tabindex="-1"><p class="muted">Loading…</p></main>
<noscript><p>The dashboard needs JavaScript. The same data: <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;
}

export function indexPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>storyboard-api</title>${ICON}
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}a{color:#0b57d0}</style></head>
<body>
<h1>storyboard-api</h1>
<ul>
<li><a href="/ui">Dashboard</a>: storyboards, the queue, tasks</li>
<li><a href="/docs">API documentation</a> (OpenAPI)</li>
<li><a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a></li>
</ul>
</body>
</html>
`;
}
