import { html, type Html } from './html.ts';

export interface Viewer {
  name: string;
  role: string;
  csrf: string;
}

const NAV = [
  ['incidents', 'Incidents'],
  ['pending', 'Pending devices'],
  ['sessions', 'Sessions'],
] as const;

/** The page around every screen: one stylesheet, htmx as an enhancement only, a skip link. */
export function page(title: string, viewer: Viewer | null, body: Html, flash?: { ok: boolean; text: string }): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Fleetpulse</title>
        <link rel="stylesheet" href="/ui/assets/ui.css" />
        <script src="/ui/assets/htmx.min.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <strong>Fleetpulse</strong>
          ${
            viewer
              ? html`<nav aria-label="Main">
                    ${NAV.map(([href, label]) => html`<a href="/ui/${href}">${label}</a>`)}
                  </nav>
                  <form method="post" action="/ui/sign-out" class="inline">
                    ${csrfField(viewer)}<span class="who">${viewer.name} (${viewer.role})</span>
                    <button type="submit">Sign out</button>
                  </form>`
              : null
          }
        </header>
        <main id="main">
          <h1>${title}</h1>
          ${flash ? html`<p role="status" class="${flash.ok ? 'ok' : 'error'}">${flash.text}</p>` : null} ${body}
        </main>
      </body>
    </html>`;
}

export function csrfField(viewer: Viewer): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrf}" />`;
}

/** A one-button form posting to `action` (no JavaScript needed), with the CSRF token. */
export function actionButton(viewer: Viewer, action: string, label: string, extra?: Html): Html {
  return html`<form method="post" action="${action}" class="inline">
    ${csrfField(viewer)}${extra}<button type="submit">${label}</button>
  </form>`;
}
