import { Dashboard } from './app.js';

new Dashboard(document.body, { pageUrl: new URL(window.location.href) });
