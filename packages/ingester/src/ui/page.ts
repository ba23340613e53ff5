/**
 * Pages share one layout (header, navigation, token field): ui-assets/layout.html holds it and
 * each file in ui-assets/pages/ holds only its <main>, headed by a comment naming its title,
 * script and navigation entry. Composed once at start, without a build step.
 */

export interface PageHead {
  title: string;
  script: string;
  nav: string;
}

const HEAD = /^<!--\s*title:\s*([^;]+?);\s*script:\s*([a-z0-9-]+);\s*nav:\s*([a-z0-9-]+)\s*-->\n?/;

/** The head comment of a page file; throws naming the file when it is missing or malformed. */
export function parsePageHead(name: string, source: string): { head: PageHead; body: string } {
  const m = HEAD.exec(source);
  if (!m) throw new Error(`UI page ${name} must start with <!-- title: ...; script: ...; nav: ... -->`);
  return { head: { title: m[1]!, script: m[2]!, nav: m[3]! }, body: source.slice(m[0].length) };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The layout with the page's title, script and body filled in and its navigation link marked current. */
export function composePage(layout: string, name: string, source: string): string {
  const { head, body } = parsePageHead(name, source);
  return layout
    .replace('<!--title-->', escapeHtml(head.title))
    .replace('<!--script-->', head.script)
    .replace(`data-nav="${head.nav}"`, `data-nav="${head.nav}" aria-current="page"`)
    .replace('<!--main-->', () => body);
}
