//! `sohoa user`: accounts of the clerks' web page.

use anyhow::{anyhow, Result};
use sohoa::store::{users, User};

use super::store::StoreDir;

/// `sohoa user …`.
#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a web user; the password is read from an environment variable.
    Add {
        #[command(flatten)]
        store: StoreDir,
        /// Sign-in name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        username: String,
        /// Full name, printed as the certifier's name on copies they certify.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: clerk (digitize, store), certifier, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        /// Environment variable holding the password (at least 10 characters).
        #[arg(long)]
        password_env: String,
    },
    /// Set a user's password (the user's sessions end).
    Password {
        #[command(flatten)]
        store: StoreDir,
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Environment variable holding the new password.
        #[arg(long)]
        password_env: String,
    },
    /// Disable a user: no sign-in, sessions end.
    Disable(UserName),
    /// Enable a disabled user again.
    Enable(UserName),
    /// Remove a user (what they did stays recorded under their name).
    Remove(UserName),
    /// List users as JSON.
    List(StoreDir),
}

/// A user named on the command line.
#[derive(clap::Args)]
pub struct UserName {
    #[command(flatten)]
    store: StoreDir,
    /// Sign-in name.
    #[arg(long)]
    username: String,
}

fn password(var: &str) -> Result<String> {
    std::env::var(var).map_err(|_| anyhow!("environment variable {var} (the password) is not set"))
}

/// Runs the command.
pub fn run(command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            store,
            username,
            name,
            role,
            password_env,
        } => {
            let roles = users::parse_roles(&role.join(","))?;
            let user = User {
                username,
                display_name: name,
                roles,
                disabled: false,
                epoch: 0,
            };
            let secret = password(&password_env)?;
            store.open()?.add_user(&user, &secret)?;
            println!("added user {}", user.username);
            Ok(())
        }
        UserCommand::Password {
            store,
            username,
            password_env,
        } => {
            let secret = password(&password_env)?;
            store.open()?.set_password(&username, &secret)?;
            println!("password of {username} set");
            Ok(())
        }
        UserCommand::Disable(u) => set_disabled(&u, true),
        UserCommand::Enable(u) => set_disabled(&u, false),
        UserCommand::Remove(u) => {
            u.store.open()?.remove_user(&u.username)?;
            println!("user {} removed", u.username);
            Ok(())
        }
        UserCommand::List(store) => {
            let users = store.open()?.users()?;
            println!("{}", serde_json::to_string_pretty(&users)?);
            Ok(())
        }
    }
}

fn set_disabled(u: &UserName, disabled: bool) -> Result<()> {
    u.store.open()?.set_user_disabled(&u.username, disabled)?;
    let state = if disabled { "disabled" } else { "enabled" };
    println!("user {} {state}", u.username);
    Ok(())
}
