package reports

import "html/template"

// style is the pages' one stylesheet, inlined so that a page is a single
// file that opens anywhere (a CI artifact, an e-mail attachment).
const style = template.CSS(`
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2937; margin: 0; background: #f8fafc; }
main { max-width: 900px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.verdict { border-radius: 10px; padding: 18px 24px; color: #fff; margin-bottom: 18px; }
.verdict .word { font-size: 44px; font-weight: 800; letter-spacing: 2px; }
.verdict.pass { background: #15803d; } .verdict.fail { background: #b91c1c; } .verdict.pass.broke { background: #b45309; }
.verdict .broke { font-size: 18px; font-weight: 700; margin: 2px 0 4px; }
.mutation { border: 2px solid #b91c1c; background: #fef2f2; color: #7f1d1d; border-radius: 10px; padding: 10px 16px; margin-bottom: 12px; }
.badge { display: inline-block; white-space: nowrap; border-radius: 4px; padding: 0 8px; color: #fff; font-weight: 700; font-size: 12px; text-transform: uppercase; }
.badge.pass, .badge.ok { background: #15803d; } .badge.fail { background: #b91c1c; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { color: #6b7280; } dl.meta dd { margin: 0; }
pre.command { background: #111827; color: #f9fafb; padding: 10px 14px; border-radius: 6px; overflow-x: auto; user-select: all; cursor: text; }
table { border-collapse: collapse; width: 100%; background: #fff; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; } td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fef2f2; }
.uchart-box { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; margin: 6px 0; padding: 6px 8px; }
.uchart-box figcaption { font-weight: 600; font-size: 13px; } .uchart { width: 100%; min-height: 240px; }
.uchart .u-legend { font-size: 12px; }
svg.chart { width: 100%; height: auto; background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; margin: 6px 0; }
svg .title { font-weight: 600; font-size: 13px; } svg .tick { font-size: 11px; fill: #4b5563; } svg .window { font-size: 10px; fill: #92400e; }
svg .grid { stroke: #eef2f7; } svg .axis { stroke: #9ca3af; }
.example { background: #fff; border: 1px solid #fecaca; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.muted { color: #6b7280; } code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
`)
