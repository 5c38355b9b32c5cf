//! `sohoa user`: accounts of the clerks' web page.

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
    /// Set a user's password (also unlocks the account).
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
    /// List users as JSON.
    List(StoreDir),
}

fn password(var: &str) -> Result<String, String> {
    std::env::var(var).map_err(|_| format!("environment variable {var} (the password) is not set"))
}

/// Runs the command.
pub fn run(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            store,
            username,
            name,
            role,
            password_env,
        } => {
            let roles = users::parse_roles(&role.join(",")).map_err(|e| e.to_string())?;
            let user = User {
                username,
                display_name: name,
                roles,
            };
            let secret = password(&password_env)?;
            store
                .open()?
                .add_user(&user, &secret)
                .map_err(|e| e.to_string())?;
            println!("added user {}", user.username);
            Ok(())
        }
        UserCommand::Password {
            store,
            username,
            password_env,
        } => {
            let secret = password(&password_env)?;
            store
                .open()?
                .set_password(&username, &secret)
                .map_err(|e| e.to_string())?;
            println!("password of {username} set");
            Ok(())
        }
        UserCommand::List(store) => {
            let users = store.open()?.users().map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&users).map_err(|e| e.to_string())?
            );
            Ok(())
        }
    }
}
