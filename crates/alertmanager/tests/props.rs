//! Untrusted text never panics the parsers: matchers (API filters, amtool input), whole
//! configurations, and round trips of the matcher printer.

use proptest::prelude::*;
use vigil_alertmanager::{parse, parse_matcher, parse_matchers};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matcher_parser_never_panics(s in "\\PC{0,40}") {
        let _ = parse_matchers(&s);
        let _ = parse_matcher(&s);
    }

    #[test]
    fn matcher_syntax_fragments_never_panic(s in "[{}a-c:=!~\"\\\\, \n]{0,30}") {
        let _ = parse_matchers(&s);
    }

    #[test]
    fn printed_matchers_parse_back(name in "[a-z_][a-z0-9_:]{0,8}", value in "\\PC{0,20}", op in 0usize..2) {
        let op = ["=", "!="][op];
        let printed = format!("{name}{op}\"{}\"", value.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\""));
        let m = parse_matcher(&printed).expect("printed matcher parses");
        prop_assert_eq!(&m.value, &value);
        prop_assert_eq!(m.to_string(), printed);
    }

    #[test]
    fn config_parser_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn config_shaped_yaml_never_panics(
        recv in "[a-z]{0,3}",
        key in "(receiver|group_by|matchers|match|match_re|continue|routes|group_wait|mute_time_intervals)",
        val in "(\\[\\]|\\[a\\]|'\\.\\.\\.'|\"a=~\\(\"|yes|0|-1|\\{a: b\\}|null)",
    ) {
        let text = format!("route:\n  receiver: {recv}\n  routes:\n    - {key}: {val}\nreceivers:\n  - name: {recv}\n");
        let _ = parse(&text);
    }
}
