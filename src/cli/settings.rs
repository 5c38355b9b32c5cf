//! Settings in one place: in `sohoa.toml` ([`super::files::config_path`]), the table
//! `[NAME]` holds defaults for `sohoa NAME`, one key per long flag (`max_connections` or
//! `max-connections` for `--max-connections`; `true` for a switch; a list for a flag
//! given several times). A flag on the command line wins over the same key. The
//! top-level `store` names the store folder for every command, and `index`, `blobs`,
//! `s3_endpoint` its shared backends. `sohoa config check`
//! reports unknown keys and bad values without running anything.

use anyhow::{anyhow, Context, Result};
use std::ffi::OsString;

use clap::{Arg, ArgAction};

/// `sohoa config …`.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Check sohoa.toml ($SOHOA_CONFIG): unknown tables and keys, values a flag would
    /// refuse. Exit 1 when something is wrong.
    Check,
}

/// Runs `sohoa config check`.
pub fn run(command: ConfigCommand, cli: &clap::Command) -> Result<bool> {
    match command {
        ConfigCommand::Check => {
            let path = super::files::config_path();
            let problems = check(cli)?;
            for problem in &problems {
                println!("{}: {problem}", path.display());
            }
            if problems.is_empty() {
                println!("{}: OK", path.display());
            }
            Ok(problems.is_empty())
        }
    }
}

/// The subcommand named in `args` (after the program and the global flags).
fn subcommand(args: &[OsString]) -> Option<(usize, String)> {
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        if arg == "--log-format" {
            i += 2;
            continue;
        }
        if !arg.starts_with('-') {
            return Some((i, arg.into_owned()));
        }
        i += 1;
    }
    None
}

/// The long flag `key` names in `command`.
fn flag<'a>(command: &'a clap::Command, key: &str) -> Option<&'a Arg> {
    let long = key.replace('_', "-");
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))
}

/// The command-line words for `key = value`: `--key VALUE` (repeated for a list),
/// `--key` for `true`, nothing for `false`.
fn words(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>> {
    let long = format!("--{}", arg.get_long().unwrap_or_default());
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    let scalar = |v: &toml::Value| -> Result<String> {
        match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(n) => Ok(n.to_string()),
            toml::Value::Float(x) => Ok(x.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            other => Err(anyhow!(
                "a {} where one value was expected",
                other.type_str()
            )),
        }
    };
    match value {
        toml::Value::Boolean(on) if switch => Ok(if *on { vec![long.into()] } else { vec![] }),
        _ if switch => Err(anyhow!("expected true or false")),
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.push(OsString::from(&long));
                out.push(scalar(item)?.into());
            }
            Ok(out)
        }
        other => Ok(vec![long.into(), scalar(other)?.into()]),
    }
}

/// Whether `args` already give the flag, long or short (then the setting is left out:
/// flags win).
fn given(args: &[OsString], arg: &Arg) -> bool {
    let long = format!("--{}", arg.get_long().unwrap_or_default());
    let with_value = format!("{long}=");
    let short = arg.get_short().map(|c| format!("-{c}"));
    args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == long
            || a.starts_with(&with_value)
            || short.as_deref().is_some_and(|s| a.starts_with(s))
    })
}

/// `args` with the settings of the invoked command's table inserted after its name.
pub fn with_settings(args: Vec<OsString>, cli: &clap::Command) -> Result<Vec<OsString>> {
    let Some((at, name)) = subcommand(&args) else {
        return Ok(args);
    };
    let Some(command) = cli.find_subcommand(&name) else {
        return Ok(args);
    };
    let Some(table) = super::files::config_table()? else {
        return Ok(args);
    };
    let Some(section) = table.get(&name).and_then(toml::Value::as_table) else {
        return Ok(args);
    };
    let mut inserted = Vec::new();
    for (key, value) in section {
        let arg = flag(command, key).ok_or_else(|| {
            anyhow!("sohoa.toml: [{name}] {key}: no such setting (sohoa config check)")
        })?;
        if !given(&args, arg) {
            inserted
                .extend(words(arg, value).with_context(|| format!("sohoa.toml: [{name}] {key}"))?);
        }
    }
    let mut out = args[..=at].to_vec();
    out.extend(inserted);
    out.extend_from_slice(&args[at + 1..]);
    Ok(out)
}

/// Every problem of the settings file: unknown tables and keys, values a flag refuses.
pub fn check(cli: &clap::Command) -> Result<Vec<String>> {
    let Some(table) = super::files::config_table()? else {
        return Ok(Vec::new());
    };
    let mut problems = Vec::new();
    for (name, value) in &table {
        let top_level = ["store", "index", "blobs", "s3_endpoint"];
        if top_level.contains(&name.as_str()) && value.is_str() {
            continue;
        }
        match (value, cli.find_subcommand(name)) {
            (toml::Value::Table(section), Some(command)) => {
                for (key, value) in section {
                    if let Err(e) = check_key(command, key, value) {
                        problems.push(format!("[{name}] {key}: {e}"));
                    }
                }
            }
            _ => problems.push(format!(
                "{name}: unknown (the file holds `store`, `index`, `blobs`, `s3_endpoint` \
                 and tables named after commands)"
            )),
        }
    }
    Ok(problems)
}

fn check_key(command: &clap::Command, key: &str, value: &toml::Value) -> Result<()> {
    let arg = flag(command, key).context("no such setting")?;
    let mut line = vec![OsString::from(command.get_name())];
    line.extend(words(arg, value)?);
    // The command with nothing required, so that one setting can be parsed alone.
    let mut relaxed = command.clone().mut_args(|a| a.required(false));
    let groups: Vec<clap::Id> = command.get_groups().map(|g| g.get_id().clone()).collect();
    for group in groups {
        relaxed = relaxed.mut_group(group, |g| g.required(false));
    }
    match relaxed.try_get_matches_from(line) {
        Ok(_) => Ok(()),
        // Another flag it goes with (tls_key with tls_cert) may come from the command line.
        Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => Ok(()),
        Err(e) => Err(anyhow!(e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string())),
    }
}
