// Saved views: a queue list's filters kept under a name by their owner, private or
// shared with the desk. Plain rows; `crate::saved_views` owns the transactions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{saved_views, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = saved_views)]
pub struct SavedView {
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub shared: bool,
    pub query: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    owner_id: i64,
    name: &str,
    shared: bool,
    query: &str,
    at: NaiveDateTime,
) -> QueryResult<SavedView> {
    diesel::insert_into(saved_views::table)
        .values((
            saved_views::owner_id.eq(owner_id),
            saved_views::name.eq(name),
            saved_views::shared.eq(shared),
            saved_views::query.eq(query),
            saved_views::created_at.eq(at),
            saved_views::updated_at.eq(at),
        ))
        .returning(saved_views::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<SavedView>> {
    saved_views::table
        .find(id)
        .select(SavedView::as_select())
        .first(conn)
        .optional()
}

/// Whether `owner_id` has a view called `name` other than `except`.
pub fn name_taken(
    conn: &mut DbConn,
    owner_id: i64,
    name: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    let mut q = saved_views::table
        .filter(saved_views::owner_id.eq(owner_id))
        .filter(saved_views::name.eq(name))
        .select(saved_views::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(saved_views::id.ne(id));
    }
    Ok(q.first::<i64>(conn).optional()?.is_some())
}

pub fn rename(conn: &mut DbConn, id: i64, name: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(saved_views::table.find(id))
        .set((saved_views::name.eq(name), saved_views::updated_at.eq(at)))
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(saved_views::table.find(id)).execute(conn)
}

/// The views `user_id` may open: their own and every shared one, each with its
/// owner's name; their own first, then by name.
pub fn visible_to(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<(SavedView, String)>> {
    let mut rows: Vec<(SavedView, String)> = saved_views::table
        .inner_join(users::table)
        .filter(
            saved_views::owner_id
                .eq(user_id)
                .or(saved_views::shared.eq(true)),
        )
        .select((SavedView::as_select(), users::name))
        .order((saved_views::name.asc(), saved_views::id.asc()))
        .load(conn)?;
    rows.sort_by_key(|(v, _)| v.owner_id != user_id);
    Ok(rows)
}
