// Pure rules of the desk, no I/O: validated input types, roles, languages, tokens
// and password hashing. Handlers parse into these types at the edge.

pub mod identity;
pub mod password;
pub mod tokens;

pub use identity::{Email, Lang, Role, UserName, parse_timezone};
