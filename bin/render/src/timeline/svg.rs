//! A [`Timeline`] drawn as a standalone SVG: one row per invocation, a time
//! axis with ticks, a legend. Plain text written here (no drawing crate);
//! every number is formatted with fixed decimals, so the same timeline
//! gives the same bytes.

use std::fmt::Write;

use super::{Bar, Outcome, Stage, Timeline};

const LABEL_W: f64 = 200.0;
const PLOT_W: f64 = 600.0;
const NOTE_W: f64 = 300.0;
const WIDTH: f64 = LABEL_W + PLOT_W + NOTE_W;
const TOP: f64 = 56.0;
const ROW_H: f64 = 20.0;
const BAR_H: f64 = 14.0;

const INIT: &str = "#bdbdbd";
const PLAN: &str = "#4e79a7";
const CHUNK: &str = "#59a14f";
const ASSEMBLE: &str = "#f28e2b";
const OTHER: &str = "#76b7b2";
const FAILED: &str = "#e15759";
const THROTTLED: &str = "#b07aa1";

/// Escapes text for SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The SVG document.
pub fn render(t: &Timeline) -> String {
    let rows = t.bars.len() as f64;
    let legend_y = TOP + rows * ROW_H + 24.0;
    let height = legend_y + 56.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        escape(&title(t))
    );
    axis(&mut s, t, rows);
    for (row, bar) in t.bars.iter().enumerate() {
        let rank = t.slowest.iter().position(|&i| i == row);
        draw_bar(&mut s, t, row, bar, rank);
    }
    legend(&mut s, t, legend_y);
    s.push_str("</svg>\n");
    s
}

fn title(t: &Timeline) -> String {
    format!(
        "{} invocations, billed {:.1} s, ${:.6} of Lambda at {} MB",
        t.bars.len(),
        t.billed_ms() as f64 / 1000.0,
        t.cost_usd(),
        t.memory_mb
    )
}

fn x_of(t: &Timeline, ms: i64) -> f64 {
    LABEL_W + PLOT_W * ms.max(0) as f64 / t.span_ms as f64
}

/// A tick step (s) that gives at most about ten ticks.
fn tick_step_ms(span_ms: i64) -> i64 {
    const STEPS: [i64; 16] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 1_200_000, 1_800_000, 3_600_000,
    ];
    let raw = span_ms / 10;
    STEPS.into_iter().find(|&s| s >= raw).unwrap_or(7_200_000)
}

fn axis(s: &mut String, t: &Timeline, rows: f64) {
    let step = tick_step_ms(t.span_ms);
    let bottom = TOP + rows * ROW_H;
    let _ = writeln!(
        s,
        "<line x1=\"{LABEL_W:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333333\"/>",
        TOP - 4.0,
        LABEL_W + PLOT_W,
        TOP - 4.0
    );
    let mut ms = 0;
    while ms <= t.span_ms {
        let x = x_of(t, ms);
        let label = if step < 1_000 {
            format!("{:.1} s", ms as f64 / 1000.0)
        } else {
            format!("{} s", ms / 1000)
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"#dddddd\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            TOP - 8.0,
            TOP - 12.0
        );
        ms += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"34\" text-anchor=\"end\" fill=\"#555555\">time since the render started</text>",
        LABEL_W + PLOT_W
    );
}

fn stage_color(stage: &Stage) -> &'static str {
    match stage {
        Stage::Plan => PLAN,
        Stage::RenderChunk => CHUNK,
        Stage::Assemble => ASSEMBLE,
        Stage::Other(_) => OTHER,
    }
}

/// The row's label: the stage, its chunk and frames.
fn label(bar: &Bar) -> String {
    let stage = match (&bar.stage, bar.chunk) {
        (Stage::RenderChunk, Some(c)) => format!("renderChunk {c}"),
        (stage, _) => stage.action().to_string(),
    };
    match bar.frames {
        Some((a, b)) => format!("{stage}, frames {a}-{b}"),
        None => stage,
    }
}

/// The tooltip: everything known about the invocation.
fn tooltip(bar: &Bar) -> String {
    let init = bar
        .init_ms
        .map_or(String::new(), |i| format!(", init {i} ms"));
    let billed = if bar.reported {
        "billed (REPORT)"
    } else {
        "billed (wall time)"
    };
    let outcome = match &bar.outcome {
        Outcome::Succeeded => "succeeded".to_string(),
        Outcome::Failed { error } => format!("failed: {error}"),
        Outcome::Throttled => format!("throttled: {}", super::THROTTLE_ERROR),
        Outcome::Running => "running".to_string(),
    };
    format!(
        "{}: {:.2}-{:.2} s{init}, {billed} {} ms, ${:.6}, {outcome}",
        label(bar),
        bar.start_ms as f64 / 1000.0,
        bar.end_ms as f64 / 1000.0,
        bar.billed_ms,
        bar.cost_usd
    )
}

/// The note right of the plot: the error of a failed attempt, or the
/// rank, frames and cost of one of the slowest chunks.
fn note(t: &Timeline, bar: &Bar, rank: Option<usize>) -> Option<(String, &'static str)> {
    match (&bar.outcome, rank) {
        (Outcome::Failed { error }, _) => Some((format!("retry/failed: {error}"), FAILED)),
        (Outcome::Throttled, _) => {
            Some((format!("throttled: {}", super::THROTTLE_ERROR), THROTTLED))
        }
        (_, Some(r)) => {
            let frames = bar
                .frames
                .map_or("frames ?".into(), |(a, b)| format!("frames {a}-{b}"));
            let cost = bar.chunk.map_or(bar.cost_usd, |c| t.chunk_cost(c));
            Some((
                format!(
                    "slowest #{}: {frames}, {:.2} s, ${cost:.6}",
                    r + 1,
                    (bar.end_ms - bar.start_ms) as f64 / 1000.0
                ),
                "#000000",
            ))
        }
        _ => None,
    }
}

fn draw_bar(s: &mut String, t: &Timeline, row: usize, bar: &Bar, rank: Option<usize>) {
    let y = TOP + row as f64 * ROW_H;
    let (x0, x1) = (x_of(t, bar.start_ms), x_of(t, bar.end_ms));
    let fill = match &bar.outcome {
        Outcome::Failed { .. } => FAILED,
        Outcome::Throttled => THROTTLED,
        _ => stage_color(&bar.stage),
    };
    let opacity = if bar.outcome == Outcome::Running {
        "0.4"
    } else {
        "1"
    };
    let stroke = if rank.is_some() {
        " stroke=\"#000000\" stroke-width=\"2\""
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "<g class=\"bar\"><title>{}</title>",
        escape(&tooltip(bar))
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        LABEL_W - 6.0,
        y + BAR_H - 3.0,
        escape(&label(bar))
    );
    let _ = writeln!(
        s,
        "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR_H:.1}\" fill=\"{fill}\" fill-opacity=\"{opacity}\"{stroke}/>",
        (x1 - x0).max(1.0)
    );
    if let Some(init) = bar.init_ms {
        let xi = x_of(t, bar.start_ms + init as i64).min(x1);
        let _ = writeln!(
            s,
            "<rect class=\"init\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR_H:.1}\" fill=\"{INIT}\"/>",
            (xi - x0).max(1.0)
        );
    }
    if let Some((text, color)) = note(t, bar, rank) {
        let class = if rank.is_some() {
            " class=\"slowest\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<text{class} x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\">{}</text>",
            LABEL_W + PLOT_W + 8.0,
            y + BAR_H - 3.0,
            escape(&text)
        );
    }
    s.push_str("</g>\n");
}

fn legend(s: &mut String, t: &Timeline, y: f64) {
    let items = [
        (INIT, "init (cold start)"),
        (PLAN, "plan"),
        (CHUNK, "renderChunk"),
        (ASSEMBLE, "assemble"),
        (FAILED, "failed attempt (retried)"),
        (THROTTLED, "throttled"),
    ];
    let mut x = 8.0;
    for (color, name) in items {
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text>",
            y - 10.0,
            x + 16.0,
            escape(name)
        );
        x += 30.0 + 7.0 * name.len() as f64;
    }
    let source = match t.reports_given {
        Some(n) => format!(
            "billed ms and init from {} of {n} REPORT records; black outline: the {} slowest chunks",
            t.bars.iter().filter(|b| b.reported).count(),
            t.slowest.len()
        ),
        None => format!(
            "billed ms = wall time, init not shown (pass --reports); black outline: the {} slowest chunks",
            t.slowest.len()
        ),
    };
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"{:.1}\" fill=\"#555555\">{}</text>",
        y + 22.0,
        escape(&source)
    );
}
