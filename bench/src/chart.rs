//! A small SVG bar chart of the comparison: per scenario, p50 and p99 for
//! both servers, on a logarithmic axis (they differ by orders of magnitude).

use crate::scenarios::Measured;

const WIDTH: f64 = 760.0;
const ROW: f64 = 64.0;
const LEFT: f64 = 170.0;

/// The chart for `rows` (ours, reference).
pub fn svg(rows: &[(Measured, Measured)]) -> String {
    let height = 40.0 + ROW * rows.len() as f64 + 30.0;
    let max = rows
        .iter()
        .flat_map(|(a, b)| [a, b])
        .filter_map(|m| m.latency.map(|l| l[2]))
        .fold(1.0_f64, f64::max);
    let (lo, hi) = (0.1_f64.log10(), max.log10().ceil().max(1.0));
    let x = |ms: f64| LEFT + (ms.max(0.1).log10() - lo) / (hi - lo) * (WIDTH - LEFT - 130.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">Latency, ms (log scale): light p50, dark p99 — blue LifeOS relay, orange automerge-repo server</text>\n"
    );
    let mut tick = lo.floor();
    while tick <= hi {
        let tx = x(10f64.powf(tick));
        out.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"30\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            height - 25.0,
            height - 10.0,
            10f64.powf(tick)
        ));
        tick += 1.0;
    }
    for (i, (ours, reference)) in rows.iter().enumerate() {
        let y = 40.0 + ROW * i as f64;
        let name = ours.scenario.split(':').next().unwrap_or_default();
        out.push_str(&format!(
            "<text x=\"10\" y=\"{:.1}\">{}</text>\n",
            y + 28.0,
            escape(name)
        ));
        for (j, (m, light, dark)) in [
            (ours, "#9ecae1", "#3182bd"),
            (reference, "#fdd0a2", "#e6550d"),
        ]
        .into_iter()
        .enumerate()
        {
            let Some([p50, _, p99]) = m.latency else {
                continue;
            };
            let by = y + 4.0 + 26.0 * j as f64;
            out.push_str(&format!(
                "<rect x=\"{LEFT}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"22\" fill=\"{dark}\"/>\n\
                 <rect x=\"{LEFT}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"22\" fill=\"{light}\"/>\n\
                 <text x=\"{:.1}\" y=\"{:.1}\">{p50:.1} / {p99:.1}</text>\n",
                (x(p99) - LEFT).max(1.0),
                (x(p50) - LEFT).max(1.0),
                x(p99) + 4.0,
                by + 15.0
            ));
        }
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
