//! Charts drawn on the server as SVG: no JavaScript, printable, and each page shows the same
//! figures in a table for screen readers. Colours are the Okabe–Ito palette (readable with
//! colour-blindness) and are set as SVG attributes, which the CSP allows.

use std::fmt::Write;

pub const PALETTE: [&str; 4] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"];

pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}").replace('.', ",")
    }
}

fn legend(svg: &mut String, series: &[Series], x: f64, y: f64) {
    let mut cx = x;
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{cx}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>"#,
            PALETTE[i % PALETTE.len()],
            cx + 16.0,
            y + 11.0,
            escape(&s.name)
        );
        cx += 30.0 + 7.0 * s.name.chars().count() as f64;
    }
}

/// Vertical grouped columns, one group per label (months, say).
pub fn columns(title: &str, labels: &[String], series: &[Series]) -> String {
    let width = 720.0;
    let height = 260.0;
    let (left, right, top, bottom) = (48.0, 10.0, 34.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let groups = labels.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    legend(&mut svg, series, left, 8.0);
    for step in 0..=4 {
        let value = max * step as f64 / 4.0;
        let y = top + plot_h - plot_h * step as f64 / 4.0;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            width - right,
            left - 4.0,
            y + 4.0,
            number(value.round())
        );
    }
    let every = (labels.len() / 12).max(1);
    for (g, label) in labels.iter().enumerate() {
        let gx = left + group_w * g as f64 + group_w * 0.1;
        for (i, s) in series.iter().enumerate() {
            let v = s.values.get(g).copied().unwrap_or(0.0);
            let h = plot_h * v / max;
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{}"><title>{} — {} : {}</title></rect>"#,
                gx + bar_w * i as f64,
                top + plot_h - h,
                PALETTE[i % PALETTE.len()],
                escape(label),
                escape(&s.name),
                number(v)
            );
        }
        if g % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
                left + group_w * (g as f64 + 0.5),
                height - bottom + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal grouped bars, one group per label (skills, domains, places). `max` fixes the
/// scale (a percentage chart goes to 100).
pub fn bars(title: &str, labels: &[String], series: &[Series], max: Option<f64>) -> String {
    let row_h = 12.0 * series.len().max(1) as f64 + 10.0;
    let (left, right, top) = (230.0, 60.0, 34.0);
    let width = 720.0;
    let height = top + row_h * labels.len() as f64 + 10.0;
    let plot_w = width - left - right;
    let max = max
        .unwrap_or_else(|| {
            series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0f64, f64::max)
        })
        .max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height:.0}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    legend(&mut svg, series, left, 8.0);
    for (r, label) in labels.iter().enumerate() {
        let y = top + row_h * r as f64;
        let short: String = label.chars().take(34).collect();
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" font-size="12" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + row_h / 2.0 + 2.0,
            escape(&short)
        );
        for (i, s) in series.iter().enumerate() {
            let v = s.values.get(r).copied().unwrap_or(0.0);
            let w = plot_w * (v / max).min(1.0);
            let by = y + 4.0 + 12.0 * i as f64;
            let _ = write!(
                svg,
                r#"<rect x="{left}" y="{by:.1}" width="{w:.1}" height="10" fill="{}"><title>{} — {} : {}</title></rect><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"#,
                PALETTE[i % PALETTE.len()],
                escape(label),
                escape(&s.name),
                number(v),
                left + w + 4.0,
                by + 9.0,
                number(v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let svg = bars(
            "Titre <b>",
            &["<script>alert(1)</script>".into(), "B".into()],
            &[Series {
                name: "n".into(),
                values: vec![10.0, 5.0],
            }],
            None,
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        // The larger value gets the full width, the other half of it.
        assert!(svg.contains(r#"width="430.0""#));
        assert!(svg.contains(r#"width="215.0""#));
    }
}
