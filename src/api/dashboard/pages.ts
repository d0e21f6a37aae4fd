// The two HTML documents the api serves: `/` (links) and `/ui` (the dashboard's shell). Server-rendered
// and static: the navigation and the page frame paint before the script runs; the data comes from /api.

/** The dashboard's shell; `version` makes the asset URLs change with each build (they are cached for good). */
export function dashboardPage(version: string, features: { storyboards: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storyboard-api dashboard</title>
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
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>storyboard-api</title>
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
