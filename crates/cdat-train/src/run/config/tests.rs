//! Tests of the run configuration: TOML round trip, `KEY=VALUE` options, field edits and
//! differing keys.

use super::*;

#[test]
fn default_config_round_trips_through_toml() {
    let c = RunConfig::default();
    let text = c.to_toml_string().unwrap();
    assert_eq!(RunConfig::from_toml_str(&text).unwrap(), c);
    assert!(
        text.contains("[tuner]") && text.contains("name = \"cdat\""),
        "{text}"
    );
}

#[test]
fn key_values_parse_as_toml() {
    assert_eq!(
        parse_key_value("beta=0.9").unwrap(),
        ("beta".into(), toml::Value::Float(0.9))
    );
    assert_eq!(
        parse_key_value("hidden=[64, 32]").unwrap().1,
        toml::Value::Array(vec![64.into(), 32.into()])
    );
    assert_eq!(
        parse_key_value("activation=gelu").unwrap().1,
        toml::Value::String("gelu".into())
    );
    assert!(parse_key_value("novalue").is_err());
}

#[test]
fn set_field_changes_a_hyperparameter_and_rejects_unknown_ones() {
    let t = TunerConfig::default();
    let t2: TunerConfig = set_field(&t, "sigma", toml::Value::Float(1.0), "--sigma").unwrap();
    assert_eq!(
        toml::Value::try_from(&t2).unwrap().get("sigma"),
        Some(&toml::Value::Float(1.0))
    );
    let t3: TunerConfig = set_field(&t, "max_lr", toml::Value::Float(3.0), "--tuner-set").unwrap();
    assert_eq!(
        toml::Value::try_from(&t3).unwrap().get("max_lr"),
        Some(&toml::Value::Float(3.0))
    );
    let e = set_field(&t, "nope", toml::Value::Float(1.0), "--tuner-set").unwrap_err();
    assert!(format!("{e:#}").contains("nope"), "{e:#}");
}

#[test]
fn differing_keys_are_dotted_paths() {
    let a = RunConfig::default();
    let mut b = a.clone();
    b.seed = 3;
    b.train.steps = Some(10);
    assert_eq!(
        a.differing_keys(&b),
        vec!["seed".to_string(), "train.steps".to_string()]
    );
    assert!(a
        .resume_identity()
        .differing_keys(
            &{
                let mut c = a.clone();
                c.train.steps = Some(99);
                c
            }
            .resume_identity()
        )
        .is_empty());
}
