//! Renders the TSDB's statistics snapshot as `vigil_*` metrics at scrape time, so the storage
//! engine needs no metrics library and the numbers are read once per scrape.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use vigil_tsdb::Tsdb;

#[derive(Debug)]
pub struct TsdbCollector(pub Arc<Tsdb>);

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: f64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(v);
    g.encode(enc.encode_descriptor(name, help, None, g.metric_type())?)
}

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(v);
    c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)
}

impl Collector for TsdbCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.stats();
        #[allow(clippy::cast_precision_loss)]
        let f = |v: u64| v as f64;
        gauge(
            &mut enc,
            "vigil_tsdb_head_series",
            "Series in the in-memory head",
            f(s.head_series),
        )?;
        gauge(
            &mut enc,
            "vigil_tsdb_head_chunks",
            "Chunks in the in-memory head",
            f(s.head_chunks),
        )?;
        gauge(
            &mut enc,
            "vigil_tsdb_head_bytes",
            "Approximate heap bytes of head series data",
            f(s.head_bytes),
        )?;
        gauge(
            &mut enc,
            "vigil_tsdb_blocks",
            "Persisted blocks",
            f(s.blocks),
        )?;
        gauge(
            &mut enc,
            "vigil_tsdb_block_bytes",
            "Bytes of persisted blocks on disk",
            f(s.block_bytes),
        )?;
        gauge(
            &mut enc,
            "vigil_wal_bytes",
            "Bytes of write-ahead log on disk",
            f(s.wal_bytes),
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_samples_appended",
            "Samples stored",
            s.samples_appended,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_ooo_samples_appended",
            "Out-of-order samples stored",
            s.ooo_samples_appended,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_series_created",
            "Series created in the head",
            s.series_created,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_series_removed",
            "Series removed from the head after persisting",
            s.series_removed,
        )?;
        {
            let c = ConstCounter::new(0u64);
            let mut fam = enc.encode_descriptor(
                "vigil_tsdb_samples_rejected",
                "Samples the store refused, by reason",
                None,
                c.metric_type(),
            )?;
            for (reason, v) in [
                ("too_old", s.rejected_too_old),
                ("duplicate", s.rejected_duplicate),
                ("invalid_series", s.rejected_invalid_series),
                ("series_limit", s.rejected_series_limit),
            ] {
                ConstCounter::new(v).encode(fam.encode_family(&[("reason", reason)])?)?;
            }
        }
        counter(
            &mut enc,
            "vigil_wal_bytes_written",
            "Bytes written to the write-ahead log",
            s.wal_bytes_written,
        )?;
        counter(
            &mut enc,
            "vigil_wal_fsyncs",
            "fsync calls on the write-ahead log",
            s.wal_fsyncs,
        )?;
        let fs = ConstCounter::new(s.wal_fsync_seconds);
        fs.encode(enc.encode_descriptor(
            "vigil_wal_fsync_duration_seconds",
            "Time spent in fsync of the write-ahead log (divide by vigil_wal_fsyncs_total for the mean latency)",
            None,
            fs.metric_type(),
        )?)?;
        counter(
            &mut enc,
            "vigil_wal_corruptions",
            "Damaged WAL segments or torn tails found",
            s.wal_corruptions,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_blocks_written",
            "Blocks written from the head",
            s.blocks_written,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_compactions",
            "Block compactions",
            s.compactions,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_compaction_failures",
            "Failed block compactions",
            s.compaction_failures,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_retention_blocks_deleted",
            "Blocks deleted by retention",
            s.retention_blocks_deleted,
        )?;
        counter(
            &mut enc,
            "vigil_tsdb_corrupt_blocks",
            "Block directories that failed to load",
            s.corrupt_blocks,
        )?;
        Ok(())
    }
}
