use crate::{Labels, Sample};

/// The metric type of a family, as exposition formats and remote_write metadata declare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    #[default]
    Unknown,
}

impl MetricType {
    /// The lowercase name Prometheus's metadata API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// HELP / TYPE / UNIT of one metric family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    pub metric_family: String,
    pub metric_type: MetricType,
    pub help: String,
    pub unit: String,
}

/// Samples for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// What every decoder produces and every store appends: series with their samples, plus the
/// metadata the body declared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub series: Vec<SeriesSamples>,
    pub metadata: Vec<MetricMetadata>,
}

impl Batch {
    pub fn new() -> Self {
        Batch::default()
    }

    /// Total samples in the batch.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Appends one sample for `labels` as its own series entry.
    pub fn push(&mut self, labels: Labels, sample: Sample) {
        self.series.push(SeriesSamples {
            labels,
            samples: vec![sample],
        });
    }
}
