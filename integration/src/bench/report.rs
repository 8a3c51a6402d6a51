//! Benchmark output: a Markdown table and an SVG plot of the takeover-time
//! distributions (ours beside keepalived 2.2.7).

use super::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// One line of the comparison table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured.
    pub metric: String,
    /// Our value, formatted.
    pub ours: String,
    /// keepalived's value, formatted.
    pub theirs: String,
    /// ours / theirs (of the medians), if meaningful.
    pub ratio: Option<f64>,
    /// Protocol bound, formatted (or empty).
    pub bound: String,
    /// How far above the bound (ours; theirs), formatted (or empty).
    pub excess: String,
}

/// The Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| metric | ours | keepalived 2.2.7 | ratio ours/theirs | protocol bound | above bound: ours; theirs |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        let ratio = r
            .ratio
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "–".into());
        s += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.metric,
            r.ours,
            r.theirs,
            ratio,
            if r.bound.is_empty() { "–" } else { &r.bound },
            if r.excess.is_empty() {
                "–"
            } else {
                &r.excess
            },
        );
    }
    s
}

/// One scenario of the plot: its label and the samples of each side.
#[derive(Debug, Clone)]
pub struct Group {
    /// Short label for the x axis.
    pub label: String,
    /// Our takeover times, seconds.
    pub ours: Vec<f64>,
    /// keepalived's takeover times, seconds.
    pub theirs: Vec<f64>,
    /// Our takeover minus the protocol bound, milliseconds.
    pub ours_excess: Vec<f64>,
    /// keepalived's takeover minus the protocol bound, milliseconds.
    pub theirs_excess: Vec<f64>,
}

/// Upper end of the excess axis, ms.
const CLIP: f64 = 60.0;

const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const THEIRS: RGBColor = RGBColor(0xd6, 0x27, 0x28);

fn perr<E: std::fmt::Debug>(e: E) -> Error {
    Error::Other(format!("plot: {e:?}"))
}

fn median(v: &[f64]) -> Option<f64> {
    super::stats::Summary::of(v).map(|s| s.median)
}

/// Draw the takeover distributions: left, takeover time (log scale); right,
/// takeover minus the protocol bound (ms). Ours in blue (left of each
/// tick), keepalived in red (right); a bar marks each median.
pub fn plot(path: &Path, groups: &[Group], title: &str) -> Result<()> {
    let root = SVGBackend::new(path, (1400, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(perr)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(perr)?;
    let panels = root.split_evenly((1, 2));
    let n = groups.len().max(1) as f64;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let xfmt = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };

    // Left: takeover time, seconds, log scale.
    let all: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.ours.iter().chain(&g.theirs))
        .copied()
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    let ymin = all.iter().copied().fold(f64::INFINITY, f64::min).min(0.05) * 0.8;
    let ymax = all.iter().copied().fold(0.0, f64::max).max(1.0) * 1.25;
    let mut c = ChartBuilder::on(&panels[0])
        .caption("takeover time after the kill (s, log)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(60)
        .y_label_area_size(55)
        .build_cartesian_2d(-0.5..(n - 0.5), (ymin..ymax).log_scale())
        .map_err(perr)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&xfmt)
        .x_label_style(("sans-serif", 10))
        .y_desc("seconds")
        .draw()
        .map_err(perr)?;
    draw_groups(&mut c, groups, |g| (&g.ours, &g.theirs), true)?;

    // Right: excess over the protocol bound, ms.
    let ex: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.ours_excess.iter().chain(&g.theirs_excess))
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    // The axis stops at CLIP ms: samples beyond are drawn as triangles at
    // the top edge (their values are in the table and the JSON).
    let emin = ex.iter().copied().fold(0.0, f64::min).max(-CLIP) - 2.0;
    let emax = (ex.iter().copied().fold(12.0, f64::max) + 3.0).min(CLIP);
    let mut c2 = ChartBuilder::on(&panels[1])
        .caption(
            "takeover − protocol bound (ms); target ≤ 10 ms",
            ("sans-serif", 16),
        )
        .margin(10)
        .x_label_area_size(60)
        .y_label_area_size(55)
        .build_cartesian_2d(-0.5..(n - 0.5), emin..emax)
        .map_err(perr)?;
    c2.configure_mesh()
        .disable_x_mesh()
        .x_labels(groups.len())
        .x_label_formatter(&xfmt)
        .x_label_style(("sans-serif", 10))
        .y_desc("milliseconds")
        .draw()
        .map_err(perr)?;
    c2.draw_series(LineSeries::new(
        [(-0.5, 10.0), (n - 0.5, 10.0)],
        BLACK.mix(0.4).stroke_width(1),
    ))
    .map_err(perr)?;
    c2.draw_series(LineSeries::new(
        [(-0.5, 0.0), (n - 0.5, 0.0)],
        BLACK.mix(0.8).stroke_width(1),
    ))
    .map_err(perr)?;
    let clip = |v: &Vec<f64>| -> Vec<f64> { v.iter().map(|x| x.clamp(emin, emax)).collect() };
    let clipped: Vec<Group> = groups
        .iter()
        .map(|g| Group {
            ours_excess: clip(&g.ours_excess),
            theirs_excess: clip(&g.theirs_excess),
            ..g.clone()
        })
        .collect();
    draw_groups(
        &mut c2,
        &clipped,
        |g| (&g.ours_excess, &g.theirs_excess),
        false,
    )?;
    let over: Vec<(f64, f64)> = groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| {
            let o = g
                .ours_excess
                .iter()
                .filter(|x| **x > emax)
                .map(move |_| (i as f64 - 0.17, emax));
            let t = g
                .theirs_excess
                .iter()
                .filter(|x| **x > emax)
                .map(move |_| (i as f64 + 0.17, emax));
            o.chain(t)
        })
        .collect();
    c2.draw_series(
        over.iter()
            .map(|&(x, y)| TriangleMarker::new((x, y), 6, BLACK.filled())),
    )
    .map_err(perr)?;
    if !over.is_empty() {
        c2.draw_series(std::iter::once(Text::new(
            format!("▲ = beyond {emax:.0} ms (see the table)"),
            (-0.45, emax - (emax - emin) * 0.06),
            ("sans-serif", 11),
        )))
        .map_err(perr)?;
    }
    root.present().map_err(perr)?;
    Ok(())
}

type Chart<'a, 'b, Y> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn draw_groups<'a, 'b, Y>(
    c: &mut Chart<'a, 'b, Y>,
    groups: &[Group],
    pick: impl Fn(&Group) -> (&Vec<f64>, &Vec<f64>),
    legend: bool,
) -> Result<()>
where
    Y: Ranged<ValueType = f64>,
    'b: 'a,
{
    for (side, color, name, dx) in [
        (0, OURS, "keepalived-rs", -0.17),
        (1, THEIRS, "keepalived 2.2.7", 0.17),
    ] {
        let mut pts = Vec::new();
        let mut bars = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let (o, t) = pick(g);
            let v = if side == 0 { o } else { t };
            let k = v.len().max(1) as f64;
            for (j, y) in v.iter().enumerate() {
                if y.is_finite() {
                    // spread the points a little so equal values stay visible
                    let jitter = (j as f64 / k - 0.5) * 0.12;
                    pts.push((i as f64 + dx + jitter, *y));
                }
            }
            if let Some(m) = median(v) {
                bars.push((i as f64 + dx, m));
            }
        }
        let s = c
            .draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.mix(0.7).filled())),
            )
            .map_err(perr)?;
        if legend {
            s.label(name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        for (x, m) in bars {
            c.draw_series(LineSeries::new(
                [(x - 0.1, m), (x + 0.1, m)],
                color.stroke_width(3),
            ))
            .map_err(perr)?;
        }
    }
    if legend {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE.mix(0.9))
            .draw()
            .map_err(perr)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_plot() {
        let rows = vec![Row {
            metric: "takeover".into(),
            ours: "0.650".into(),
            theirs: "0.670".into(),
            ratio: Some(0.97),
            bound: "0.648".into(),
            excess: "2; 22 ms".into(),
        }];
        let md = markdown(&rows);
        assert!(md.contains("| takeover | 0.650 | 0.670 | 0.97 | 0.648 | 2; 22 ms |"));
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { return };
        let p = dir.path().join("p.svg");
        let g = Group {
            label: "SIGTERM v2".into(),
            ours: vec![0.65, 0.651],
            theirs: vec![0.67],
            ours_excess: vec![2.0, 3.0],
            theirs_excess: vec![22.0],
        };
        let r = plot(&p, &[g.clone(), g], "test");
        assert!(r.is_ok(), "{r:?}");
        let svg = std::fs::read_to_string(&p).unwrap_or_default();
        assert!(svg.contains("<svg") && svg.contains("SIGTERM v2"));
    }
}
