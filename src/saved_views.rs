// Saved views: naming, renaming and deleting a queue list's saved filters, each in
// one transaction; a shared view's changes are in the audit log with them.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::{self, Actor};
use crate::db::DbConn;
use crate::domain::worklist::view_name;
use crate::store::{self, views as view_store};

pub use crate::store::views::SavedView;

/// Why a saved view was not changed; every variant but `Db` is the user's to read.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The name is empty or too long (the catalog key says which).
    #[error("bad name: {0}")]
    Name(&'static str),
    #[error("the owner has a view of that name already")]
    Taken,
    #[error("no such view")]
    NotFound,
    #[error("only the view's owner (or a supervisor, for a shared view) may do this")]
    Forbidden,
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl ViewError {
    /// The catalog key of the message; `None` for a database failure.
    pub fn key(&self) -> Option<&'static str> {
        Some(match self {
            ViewError::Name(k) => k,
            ViewError::Taken => "views.error.name_taken",
            ViewError::NotFound => "views.error.not_found",
            ViewError::Forbidden => "views.error.forbidden",
            ViewError::Db(_) => return None,
        })
    }
}

fn actor_id(actor: &Actor) -> i64 {
    actor.user_id.unwrap_or_default()
}

/// Saves `query` (a list query the list's parser accepted) as the actor's view
/// `name`, private or shared with the desk.
pub fn save(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    name: &str,
    shared: bool,
    query: &str,
) -> Result<SavedView, ViewError> {
    let name = view_name(name).map_err(ViewError::Name)?;
    let owner = actor_id(actor);
    crate::db::write_tx(conn, |conn| {
        if view_store::name_taken(conn, owner, &name, None)? {
            return Err(ViewError::Taken);
        }
        let view = view_store::insert(conn, owner, &name, shared, query, store::to_db(now))
            .map_err(|e| {
                if store::is_unique_violation(&e) {
                    ViewError::Taken
                } else {
                    ViewError::Db(e)
                }
            })?;
        if shared {
            accounts::record(
                conn,
                now,
                actor,
                "view.shared",
                Some(&view.name),
                json!({"view": view.id, "query": view.query}),
            )?;
        }
        Ok(view)
    })
}

/// The owner renames their view.
pub fn rename(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    name: &str,
) -> Result<SavedView, ViewError> {
    let name = view_name(name).map_err(ViewError::Name)?;
    let user = actor_id(actor);
    crate::db::write_tx(conn, |conn| {
        let view = view_store::find(conn, id)?.ok_or(ViewError::NotFound)?;
        if view.owner_id != user {
            return Err(if view.shared {
                ViewError::Forbidden
            } else {
                ViewError::NotFound
            });
        }
        if view_store::name_taken(conn, user, &name, Some(id))? {
            return Err(ViewError::Taken);
        }
        view_store::rename(conn, id, &name, store::to_db(now)).map_err(|e| {
            if store::is_unique_violation(&e) {
                ViewError::Taken
            } else {
                ViewError::Db(e)
            }
        })?;
        if view.shared {
            accounts::record(
                conn,
                now,
                actor,
                "view.renamed",
                Some(&name),
                json!({"view": id, "from": view.name}),
            )?;
        }
        Ok(SavedView { name, ..view })
    })
}

/// Deletes a view: its owner may, and a supervisor or admin may delete a shared one.
/// Someone else's private view is "not found".
pub fn delete(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    actor: &Actor,
    supervisor: bool,
    id: i64,
) -> Result<SavedView, ViewError> {
    let user = actor_id(actor);
    crate::db::write_tx(conn, |conn| {
        let view = view_store::find(conn, id)?.ok_or(ViewError::NotFound)?;
        if view.owner_id != user {
            if !view.shared {
                return Err(ViewError::NotFound);
            }
            if !supervisor {
                return Err(ViewError::Forbidden);
            }
        }
        view_store::delete(conn, id)?;
        if view.shared {
            accounts::record(
                conn,
                now,
                actor,
                "view.deleted",
                Some(&view.name),
                json!({"view": id, "owner": view.owner_id, "query": view.query}),
            )?;
        }
        Ok(view)
    })
}

/// The views `user_id` may open (their own, then the shared ones of others), each
/// with its owner's name.
pub fn visible_to(
    conn: &mut DbConn,
    user_id: i64,
) -> diesel::QueryResult<Vec<(SavedView, String)>> {
    view_store::visible_to(conn, user_id)
}
