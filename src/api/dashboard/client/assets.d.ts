// esbuild bundles the CSS a module imports into dist/ui/app.css; for the type checker it is nothing.
declare module '*.css';
