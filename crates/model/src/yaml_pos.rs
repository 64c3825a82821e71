//! Maps a config path such as `scrape_configs[2].relabel_configs[0].regex` to the line it is
//! written on, so that validation errors found after deserialisation can still be reported as
//! `file:line: reason`. serde keeps no positions, so the file is walked once more with a
//! YAML event parser that does.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Path → 1-based line of the key (or sequence item) that starts it.
#[derive(Debug, Default)]
pub struct YamlPositions {
    lines: HashMap<String, usize>,
}

enum Frame {
    Map { key: Option<String> },
    Seq { index: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<(String, Frame)>,
    lines: HashMap<String, usize>,
}

impl Walker {
    /// The path of the node about to be read in the current container.
    fn child_path(&self) -> Option<String> {
        let (base, frame) = self.stack.last()?;
        Some(match frame {
            Frame::Map { key: Some(k) } if base.is_empty() => k.clone(),
            Frame::Map { key: Some(k) } => format!("{base}.{k}"),
            Frame::Map { key: None } => return None,
            Frame::Seq { index } => format!("{base}[{index}]"),
        })
    }

    /// A value (scalar or whole container) was completed in the current container.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some((_, Frame::Map { key })) => *key = None,
            Some((_, Frame::Seq { index })) => *index += 1,
            None => {}
        }
    }

    fn open(&mut self, frame: Frame, line: usize) {
        let path = self.child_path().unwrap_or_default();
        if matches!(self.stack.last(), Some((_, Frame::Seq { .. }))) {
            self.lines.entry(path.clone()).or_insert(line);
        }
        self.stack.push((path, frame));
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(v, ..) => {
                let expecting_key =
                    matches!(self.stack.last(), Some((_, Frame::Map { key: None })));
                if expecting_key {
                    if let Some((_, Frame::Map { key })) = self.stack.last_mut() {
                        *key = Some(v);
                    }
                    if let Some(p) = self.child_path() {
                        self.lines.entry(p).or_insert(line);
                    }
                } else {
                    if let Some(p) = self.child_path() {
                        self.lines.entry(p).or_insert(line);
                    }
                    self.value_done();
                }
            }
            Event::MappingStart(..) => self.open(Frame::Map { key: None }, line),
            Event::SequenceStart(..) => self.open(Frame::Seq { index: 0 }, line),
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            Event::Alias(_) => self.value_done(),
            _ => {}
        }
    }
}

impl YamlPositions {
    /// Indexes `text`; a document that does not parse yields an empty index (the serde pass
    /// reports its syntax error with a position of its own).
    pub fn new(text: &str) -> Self {
        let mut w = Walker::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut w, false).is_err() {
            return YamlPositions::default();
        }
        YamlPositions { lines: w.lines }
    }

    /// The line of `path`, or of its nearest ancestor that was found.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return Some(*l);
            }
            let cut = p.rfind(['.', '['])?;
            p = p.get(..cut)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_paths() {
        let text = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:1']\n  - job_name: b\n    relabel_configs:\n      - source_labels: [a]\n        regex: '('\n";
        let p = YamlPositions::new(text);
        assert_eq!(p.line_of("global.scrape_interval"), Some(2));
        assert_eq!(p.line_of("scrape_configs[0].job_name"), Some(4));
        assert_eq!(p.line_of("scrape_configs[1]"), Some(7));
        assert_eq!(
            p.line_of("scrape_configs[1].relabel_configs[0].regex"),
            Some(10)
        );
        assert_eq!(
            p.line_of("scrape_configs[1].relabel_configs[0].modulus"),
            Some(9)
        );
        assert_eq!(p.line_of("nothing.here"), None);
    }
}
