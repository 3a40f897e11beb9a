//! An in-memory metric registry, rendered in the Prometheus text exposition
//! format 0.0.4.
//!
//! The registry keeps one *family* per metric name (its kind, its help text)
//! and one *series* per label set. Counters add, gauges replace, histograms
//! count each observation into fixed buckets. Families and series are kept
//! sorted, so the exposition is the same text for the same state, which is
//! what makes it testable and diffable.
//!
//! Everything a scraper would reject is rejected when recorded, as
//! `invalid_input`, rather than rendered into a page Prometheus cannot parse:
//! invalid metric or label names, the reserved `le` label on histograms, a
//! name reused with another kind, a name that collides with a histogram's
//! `_bucket`/`_sum`/`_count` series, a counter going down.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use aido_plugin_api::model::monitoring::{Metric, MetricKind};
use aido_plugin_api::{ConfigProblem, Error, Result};

/// The media type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram bucket upper bounds, in seconds: from 5 ms (a plugin call on
/// loopback) to 5 minutes (a long AI generation or test run).
pub(crate) const DEFAULT_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// The suffixes of the series a histogram family renders besides its name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// Metrics recorded so far, safe to share between threads.
#[derive(Debug)]
pub(crate) struct MetricRegistry {
    buckets: Vec<f64>,
    families: Mutex<BTreeMap<String, Family>>,
}

/// All series of one metric name.
#[derive(Debug)]
struct Family {
    kind: MetricKind,
    help: Option<String>,
    series: BTreeMap<LabelSet, Series>,
}

/// Label pairs sorted by name (they come from a `BTreeMap`).
type LabelSet = Vec<(String, String)>;

/// One series' state.
#[derive(Debug)]
enum Series {
    /// A counter's total or a gauge's last value.
    Value(f64),
    /// A histogram's observations.
    Histogram(HistogramState),
}

/// Observations per bucket (not cumulative; rendering accumulates), their sum
/// and their count.
#[derive(Debug)]
struct HistogramState {
    bucket_counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Default for MetricRegistry {
    fn default() -> Self {
        MetricRegistry::new(DEFAULT_BUCKETS.to_vec())
    }
}

impl MetricRegistry {
    /// An empty registry whose histograms use `buckets` (checked by
    /// [`check_buckets`]: finite and strictly increasing).
    pub(crate) fn new(buckets: Vec<f64>) -> Self {
        MetricRegistry {
            buckets,
            families: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds one measurement.
    pub(crate) fn record(&self, metric: &Metric) -> Result<()> {
        validate_metric_name(&metric.name)?;
        for name in metric.labels.keys() {
            validate_label_name(&metric.name, name, metric.kind)?;
        }
        validate_value(metric)?;

        // A panic elsewhere while holding the lock leaves the maps
        // consistent (every update below is a single assignment), so a
        // poisoned lock is still safe to use.
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        match families.get(&metric.name) {
            Some(family) if family.kind != metric.kind => {
                return Err(Error::invalid_input(format!(
                    "metric `{}` is already a {}; it cannot also be recorded as a {} \
                     (use another name for the {})",
                    metric.name,
                    kind_name(family.kind),
                    kind_name(metric.kind),
                    kind_name(metric.kind),
                )));
            }
            Some(_) => {}
            None => check_no_collision(&families, &metric.name, metric.kind)?,
        }
        let family = families
            .entry(metric.name.clone())
            .or_insert_with(|| Family {
                kind: metric.kind,
                help: None,
                series: BTreeMap::new(),
            });
        if family.help.is_none() {
            family.help.clone_from(&metric.help);
        }
        let labels: LabelSet = metric
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let buckets = &self.buckets;
        let series = family
            .series
            .entry(labels)
            .or_insert_with(|| match metric.kind {
                MetricKind::Histogram => Series::Histogram(HistogramState {
                    bucket_counts: vec![0; buckets.len()],
                    sum: 0.0,
                    count: 0,
                }),
                MetricKind::Counter | MetricKind::Gauge => Series::Value(0.0),
            });
        match (metric.kind, series) {
            (MetricKind::Counter, Series::Value(total)) => *total += metric.value,
            (MetricKind::Gauge, Series::Value(level)) => *level = metric.value,
            (MetricKind::Histogram, Series::Histogram(state)) => {
                state.observe(buckets, metric.value);
            }
            // The family's kind was checked above and decides the series'
            // shape, so the kinds always agree.
            _ => {}
        }
        Ok(())
    }

    /// The whole registry in the Prometheus text format 0.0.4: families
    /// sorted by name, series by labels, every line ending in `\n`.
    pub(crate) fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (name, family) in families.iter() {
            render_family(&mut out, name, family, &self.buckets);
        }
        out
    }
}

impl HistogramState {
    fn observe(&mut self, buckets: &[f64], value: f64) {
        // A value above every bound only counts towards `+Inf`, which is
        // the total count.
        if let Some(index) = buckets.iter().position(|bound| value <= *bound) {
            self.bucket_counts[index] += 1;
        }
        self.sum += value;
        self.count += 1;
    }
}

fn render_family(out: &mut String, name: &str, family: &Family, buckets: &[f64]) {
    // `write!` into a String cannot fail.
    if let Some(help) = &family.help {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    }
    let _ = writeln!(out, "# TYPE {name} {}", kind_name(family.kind));
    for (labels, series) in &family.series {
        match series {
            Series::Value(value) => {
                let _ = writeln!(
                    out,
                    "{name}{} {}",
                    render_labels(labels, None),
                    format_value(*value)
                );
            }
            Series::Histogram(state) => render_histogram(out, name, labels, state, buckets),
        }
    }
}

fn render_histogram(
    out: &mut String,
    name: &str,
    labels: &LabelSet,
    state: &HistogramState,
    buckets: &[f64],
) {
    let mut cumulative = 0;
    for (bound, count) in buckets.iter().zip(&state.bucket_counts) {
        cumulative += count;
        let le = format_value(*bound);
        let _ = writeln!(
            out,
            "{name}_bucket{} {cumulative}",
            render_labels(labels, Some(&le))
        );
    }
    let _ = writeln!(
        out,
        "{name}_bucket{} {}",
        render_labels(labels, Some("+Inf")),
        state.count
    );
    let _ = writeln!(
        out,
        "{name}_sum{} {}",
        render_labels(labels, None),
        format_value(state.sum)
    );
    let _ = writeln!(
        out,
        "{name}_count{} {}",
        render_labels(labels, None),
        state.count
    );
}

/// `{a="x",b="y"}`, with `le` last when given; empty for no labels.
fn render_labels(labels: &LabelSet, le: Option<&str>) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
        .collect();
    if let Some(le) = le {
        pairs.push(format!("le=\"{le}\""));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// A sample value as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, or the
/// shortest decimal that round-trips. Very large and very small magnitudes
/// use exponent notation instead of hundreds of digits.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".to_owned()
        } else {
            "-Inf".to_owned()
        }
    } else if value != 0.0 && !(1e-5..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Help text escapes backslash and line feed (quotes stay as they are).
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

/// Metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn validate_metric_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "`{name}` is not a valid metric name: use letters, digits, `_` and `:`, \
             not starting with a digit (such as `aido_steps_total`)"
        )))
    }
}

/// Label names match `[a-zA-Z_][a-zA-Z0-9_]*`, must not start with `__`
/// (reserved for Prometheus itself), and histograms reserve `le`.
fn validate_label_name(metric: &str, name: &str, kind: MetricKind) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Error::invalid_input(format!(
            "label `{name}` of metric `{metric}` is not a valid label name: use letters, \
             digits and `_`, not starting with a digit"
        )));
    }
    if name.starts_with("__") {
        return Err(Error::invalid_input(format!(
            "label `{name}` of metric `{metric}` starts with `__`, which Prometheus reserves"
        )));
    }
    if name == "le" && kind == MetricKind::Histogram {
        return Err(Error::invalid_input(format!(
            "histogram `{metric}` cannot have a label named `le`: it holds the bucket bounds"
        )));
    }
    Ok(())
}

fn validate_value(metric: &Metric) -> Result<()> {
    let value = metric.value;
    match metric.kind {
        MetricKind::Counter if !value.is_finite() || value < 0.0 => {
            Err(Error::invalid_input(format!(
                "counter `{}` can only go up: its value must be a finite number >= 0, not {value} \
                 (use a gauge for values that go down)",
                metric.name
            )))
        }
        MetricKind::Histogram if !value.is_finite() => Err(Error::invalid_input(format!(
            "histogram `{}` can only observe finite numbers, not {value}",
            metric.name
        ))),
        _ => Ok(()),
    }
}

/// A new family must not render a series name another family renders: a
/// histogram `x` owns `x_bucket`, `x_sum` and `x_count`.
fn check_no_collision(
    families: &BTreeMap<String, Family>,
    name: &str,
    kind: MetricKind,
) -> Result<()> {
    for suffix in HISTOGRAM_SUFFIXES {
        if let Some(base) = name.strip_suffix(suffix)
            && families
                .get(base)
                .is_some_and(|family| family.kind == MetricKind::Histogram)
        {
            return Err(Error::invalid_input(format!(
                "metric `{name}` collides with the `{suffix}` series of histogram `{base}`; \
                 choose another name"
            )));
        }
        if kind == MetricKind::Histogram {
            let series_name = format!("{name}{suffix}");
            if families.contains_key(&series_name) {
                return Err(Error::invalid_input(format!(
                    "histogram `{name}` would render `{series_name}`, which is already a metric; \
                     choose another name"
                )));
            }
        }
    }
    Ok(())
}

/// Checks configured histogram buckets: at least one, finite, strictly
/// increasing. `path` is the configuration key (`options.buckets`).
pub(crate) fn check_buckets(path: &str, buckets: &[f64]) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    if buckets.is_empty() {
        problems.push(ConfigProblem::new(
            path,
            "at least one bucket bound is needed (`+Inf` is always added)",
        ));
    }
    for (index, bound) in buckets.iter().enumerate() {
        if !bound.is_finite() {
            problems.push(ConfigProblem::new(
                format!("{path}.{index}"),
                format!(
                    "bucket bounds must be finite numbers, not {bound} (`+Inf` is always added)"
                ),
            ));
        }
    }
    for (index, pair) in buckets.windows(2).enumerate() {
        if pair[1] <= pair[0] {
            problems.push(ConfigProblem::new(
                format!("{path}.{}", index + 1),
                format!(
                    "bucket bounds must be strictly increasing, but {} follows {}",
                    pair[1], pair[0]
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use aido_plugin_api::ErrorKind;

    fn metric(name: &str, kind: MetricKind, value: f64, labels: &[(&str, &str)]) -> Metric {
        Metric {
            name: name.to_owned(),
            kind,
            value,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            help: None,
        }
    }

    #[test]
    fn counters_add_and_gauges_replace() {
        let registry = MetricRegistry::default();
        let mut steps = metric(
            "aido_steps_total",
            MetricKind::Counter,
            1.0,
            &[("status", "ok")],
        );
        steps.help = Some("Steps run.".into());
        registry.record(&steps).unwrap();
        registry
            .record(&metric(
                "aido_steps_total",
                MetricKind::Counter,
                2.0,
                &[("status", "ok")],
            ))
            .unwrap();
        registry
            .record(&metric(
                "aido_steps_total",
                MetricKind::Counter,
                1.0,
                &[("status", "failed")],
            ))
            .unwrap();
        registry
            .record(&metric("aido_runs_active", MetricKind::Gauge, 4.0, &[]))
            .unwrap();
        registry
            .record(&metric("aido_runs_active", MetricKind::Gauge, 2.5, &[]))
            .unwrap();
        assert_eq!(
            registry.render(),
            "# TYPE aido_runs_active gauge\n\
             aido_runs_active 2.5\n\
             # HELP aido_steps_total Steps run.\n\
             # TYPE aido_steps_total counter\n\
             aido_steps_total{status=\"failed\"} 1\n\
             aido_steps_total{status=\"ok\"} 3\n"
        );
    }

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let registry = MetricRegistry::new(vec![0.1, 1.0, 5.0]);
        for value in [0.05, 0.1, 0.7, 9.0] {
            registry
                .record(&metric(
                    "call_seconds",
                    MetricKind::Histogram,
                    value,
                    &[("plugin", "git")],
                ))
                .unwrap();
        }
        assert_eq!(
            registry.render(),
            "# TYPE call_seconds histogram\n\
             call_seconds_bucket{plugin=\"git\",le=\"0.1\"} 2\n\
             call_seconds_bucket{plugin=\"git\",le=\"1\"} 3\n\
             call_seconds_bucket{plugin=\"git\",le=\"5\"} 3\n\
             call_seconds_bucket{plugin=\"git\",le=\"+Inf\"} 4\n\
             call_seconds_sum{plugin=\"git\"} 9.85\n\
             call_seconds_count{plugin=\"git\"} 4\n"
        );
    }

    #[test]
    fn default_buckets_are_rendered_in_order() {
        let registry = MetricRegistry::default();
        registry
            .record(&metric("d", MetricKind::Histogram, 0.3, &[]))
            .unwrap();
        let text = registry.render();
        let bounds: Vec<&str> = text
            .lines()
            .filter_map(|line| line.split("le=\"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(
            bounds,
            [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                "30", "60", "120", "300", "+Inf"
            ]
        );
        assert!(text.contains("d_bucket{le=\"0.25\"} 0\n"), "{text}");
        assert!(text.contains("d_bucket{le=\"0.5\"} 1\n"), "{text}");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let registry = MetricRegistry::default();
        let mut m = metric(
            "m",
            MetricKind::Gauge,
            1.0,
            &[("path", "C:\\dir \"x\"\nnext")],
        );
        m.help = Some("Line one\nback\\slash \"quoted\"".into());
        registry.record(&m).unwrap();
        assert_eq!(
            registry.render(),
            "# HELP m Line one\\nback\\\\slash \"quoted\"\n\
             # TYPE m gauge\n\
             m{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"
        );
    }

    #[test]
    fn special_values_use_prometheus_spelling() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(-2.5), "-2.5");
        assert_eq!(format_value(1e21), "1e21");
        assert_eq!(format_value(1.5e-7), "1.5e-7");
    }

    #[test]
    fn a_name_reused_with_another_kind_is_rejected() {
        let registry = MetricRegistry::default();
        registry
            .record(&metric("x", MetricKind::Counter, 1.0, &[]))
            .unwrap();
        let err = registry
            .record(&metric("x", MetricKind::Gauge, 1.0, &[]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("already a counter"), "{err}");
        assert!(err.message().contains("as a gauge"), "{err}");
    }

    #[test]
    fn names_colliding_with_histogram_series_are_rejected() {
        let registry = MetricRegistry::default();
        registry
            .record(&metric("lat", MetricKind::Histogram, 1.0, &[]))
            .unwrap();
        let err = registry
            .record(&metric("lat_count", MetricKind::Counter, 1.0, &[]))
            .unwrap_err();
        assert!(err.message().contains("histogram `lat`"), "{err}");

        registry
            .record(&metric("size_sum", MetricKind::Gauge, 1.0, &[]))
            .unwrap();
        let err = registry
            .record(&metric("size", MetricKind::Histogram, 1.0, &[]))
            .unwrap_err();
        assert!(err.message().contains("size_sum"), "{err}");
    }

    #[test]
    fn invalid_names_are_rejected() {
        let registry = MetricRegistry::default();
        for name in ["", "9lives", "has-dash", "spa ce", "é"] {
            let err = registry
                .record(&metric(name, MetricKind::Gauge, 1.0, &[]))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}");
        }
        registry
            .record(&metric("ns:sub_total", MetricKind::Counter, 1.0, &[]))
            .unwrap();
        for label in ["1a", "a:b", "__reserved", ""] {
            let err = registry
                .record(&metric("ok", MetricKind::Gauge, 1.0, &[(label, "v")]))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{label}");
        }
        let err = registry
            .record(&metric("h", MetricKind::Histogram, 1.0, &[("le", "1")]))
            .unwrap_err();
        assert!(err.message().contains("`le`"), "{err}");
        // `le` is only reserved on histograms.
        registry
            .record(&metric("g", MetricKind::Gauge, 1.0, &[("le", "1")]))
            .unwrap();
    }

    #[test]
    fn counters_cannot_go_down() {
        let registry = MetricRegistry::default();
        let err = registry
            .record(&metric("c", MetricKind::Counter, -1.0, &[]))
            .unwrap_err();
        assert!(err.message().contains("only go up"), "{err}");
        let err = registry
            .record(&metric("h", MetricKind::Histogram, f64::NAN, &[]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            registry.render(),
            "",
            "rejected values leave no family behind"
        );
    }

    #[test]
    fn buckets_must_be_finite_and_increasing() {
        assert!(check_buckets("options.buckets", &DEFAULT_BUCKETS).is_empty());
        let problems = check_buckets("options.buckets", &[1.0, 1.0, f64::INFINITY]);
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["options.buckets.2", "options.buckets.1"]);
        assert_eq!(check_buckets("b", &[]).len(), 1);
    }
}
