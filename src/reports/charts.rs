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
    crate::french::number(v, 2)
}

/// The scale of an axis: a whole step of 1, 2 or 5 times a power of ten, and the top of the
/// axis, a multiple of it at or above `max`, for about `ticks` intervals. Counts of people never
/// read 1,5 on a grid line.
fn axis(max: f64, ticks: usize) -> (f64, f64) {
    let rough = (max / ticks.max(1) as f64).max(1.0);
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough - 1e-9)
        .unwrap_or(10.0 * power);
    let top = (max / step).ceil().max(1.0) * step;
    (step, top)
}

/// A label cut into lines of at most `width` characters at spaces (a word longer than that
/// stays whole), at most `lines` lines, the last one ending in "…" when text is left over.
fn wrap(label: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in label.split_whitespace() {
        let fits =
            current.is_empty() || current.chars().count() + 1 + word.chars().count() <= width;
        if !fits {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        out.push(current);
    }
    if out.len() > lines {
        out.truncate(lines);
        if let Some(last) = out.last_mut() {
            let kept: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{}…", kept.trim_end());
        }
    }
    out
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
    let (step, max) = axis(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0f64, f64::max),
        4,
    );
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
    let lines = (max / step).round() as usize;
    for line in 0..=lines {
        let value = step * line as f64;
        let y = top + plot_h - plot_h * value / max;
        let _ = write!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            width - right,
            left - 4.0,
            y + 4.0,
            number(value)
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
    // Long labels (a skill's full name) wrap onto up to three lines of 32 characters.
    let wrapped: Vec<Vec<String>> = labels.iter().map(|l| wrap(l, 32, 3)).collect();
    let most_lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let row_h = (12.0 * series.len().max(1) as f64 + 10.0).max(14.0 * most_lines as f64 + 6.0);
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
        let lines = &wrapped[r];
        let first_y = y + row_h / 2.0 + 4.0 - 7.0 * (lines.len() as f64 - 1.0);
        let _ = write!(svg, r#"<text font-size="12" text-anchor="end">"#);
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                svg,
                r#"<tspan x="{}" y="{:.1}">{}</tspan>"#,
                left - 6.0,
                first_y + 14.0 * i as f64,
                escape(line)
            );
        }
        svg.push_str("</text>");
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

    #[test]
    fn axes_step_by_whole_numbers() {
        assert_eq!(axis(6.0, 4), (2.0, 6.0));
        assert_eq!(axis(7.0, 4), (2.0, 8.0));
        assert_eq!(axis(3.0, 4), (1.0, 3.0));
        assert_eq!(axis(0.0, 4), (1.0, 1.0));
        assert_eq!(axis(1234.0, 4), (500.0, 1500.0));
        assert_eq!(axis(95.0, 4), (50.0, 100.0));
        let svg = columns(
            "Présences",
            &["janv.".into(), "févr.".into()],
            &[Series {
                name: "Présents".into(),
                values: vec![6.0, 3.0],
            }],
        );
        let grid: Vec<&str> = svg
            .split(r#"text-anchor="end">"#)
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .collect();
        assert_eq!(grid, ["0", "2", "4", "6"], "{svg}");
    }

    #[test]
    fn long_labels_wrap_instead_of_being_cut() {
        let label = "Utiliser les services en ligne de la CAF et de France Travail en autonomie";
        assert_eq!(
            wrap(label, 32, 3),
            [
                "Utiliser les services en ligne",
                "de la CAF et de France Travail",
                "en autonomie"
            ]
        );
        assert_eq!(wrap("Court", 32, 3), ["Court"]);
        let cut = wrap(&"mot ".repeat(40), 32, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…') && cut[1].chars().count() <= 32);
        let svg = bars(
            "Compétences",
            &[label.into()],
            &[Series {
                name: "n".into(),
                values: vec![1.0],
            }],
            None,
        );
        for line in wrap(label, 32, 3) {
            assert!(svg.contains(&format!(">{line}</tspan>")), "{svg}");
        }
    }
}
