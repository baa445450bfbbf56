// Who may use a route: the role extractors a handler names first in its signature,
// and the route table's entry, which ties each route's declared access to them.
//
// A handler says who may call it by the type of its first argument: `CurrentUser`
// (any signed-in user), `Supervisor` (a supervisor or an admin), `Admin`, or under
// /api `ApiKey<S>` (a key with the scope `S`, e.g. `ApiKey<CasesRead>`). Extracting
// it refuses anyone else before any other argument (path, query, form) is read: no
// session is 401, which the error-page middleware turns into the sign-in redirect
// (problem+json under /api); the wrong role is 403; a key without the scope, a 403
// problem naming it. The route table (`web::ROUTES`) declares the same access for
// each route (`ApiKey(CasesRead)`), and registering a route checks at compile time
// that its handler's first argument is that access's extractor, scope and all, so
// the table and the handlers cannot differ.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpRequest, Responder, Route, web};

use super::CurrentUser;
use crate::domain::Role;
use crate::domain::apikey::Scope;
use crate::error::AppError;

/// A signed-in supervisor or admin; anyone else is refused (401 when not signed
/// in, 403 otherwise).
#[derive(Debug, Clone)]
pub struct Supervisor(pub CurrentUser);

/// A signed-in admin; anyone else is refused (401 when not signed in, 403
/// otherwise).
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl Supervisor {
    /// The user as a supervisor, or back as they were (boxed) when they are an
    /// agent.
    pub fn of(user: CurrentUser) -> Result<Supervisor, Box<CurrentUser>> {
        if user.role.is_supervisor_or_admin() {
            Ok(Supervisor(user))
        } else {
            Err(Box::new(user))
        }
    }
}

impl Admin {
    /// The user as an admin, or back as they were (boxed).
    pub fn of(user: CurrentUser) -> Result<Admin, Box<CurrentUser>> {
        if user.role == Role::Admin {
            Ok(Admin(user))
        } else {
            Err(Box::new(user))
        }
    }
}

impl Deref for Supervisor {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl Deref for Admin {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

/// The signed-in user if `of` accepts them: 401 without a session, 403 when `of`
/// refuses.
fn signed_in_as<T>(
    req: &HttpRequest,
    of: fn(CurrentUser) -> Result<T, Box<CurrentUser>>,
) -> Result<T, AppError> {
    of(CurrentUser::of(req)?).map_err(|_| AppError::Forbidden)
}

impl FromRequest for Supervisor {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(signed_in_as(req, Supervisor::of))
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(signed_in_as(req, Admin::of))
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in, customers' links, operations, assets).
    Public,
    /// Any signed-in user: agents, supervisors and admins.
    Signed,
    /// Supervisors and admins.
    Supervisor,
    /// Admins only.
    Admin,
    /// A request to the JSON API with a working API key that holds the scope
    /// (browser sessions do not count).
    ApiKey(Scope),
}

impl Access {
    /// Whether a signed-in user of `role` may use a route of this access (a
    /// request without a session may use only public routes; API keys, only
    /// `ApiKey` routes).
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public | Access::Signed => true,
            Access::Supervisor => role.is_supervisor_or_admin(),
            Access::Admin => role == Role::Admin,
            Access::ApiKey(_) => false,
        }
    }
}

/// One route of the desk: its method, its path pattern, who may use it, and how it
/// is registered.
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// Registers the route's handler at the given path (the pattern, or its rest
    /// inside a scope).
    pub(super) mount: fn(&mut web::ServiceConfig, &str),
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

/// Says that a handler's arguments (a tuple) begin with the extractor `G`.
pub trait Leads<G> {}

macro_rules! leads {
    ($($rest:ident),*) => {
        impl<G, $($rest),*> Leads<G> for (G, $($rest,)*) {}
    };
}
leads!();
leads!(A);
leads!(A, B);
leads!(A, B, C);
leads!(A, B, C, D);
leads!(A, B, C, D, E);
leads!(A, B, C, D, E, F);
leads!(A, B, C, D, E, F, H);

/// A route to `handler` whose first argument must be the extractor `G`: a handler
/// that forgot its guard, or names another, does not compile.
pub fn guarded<G, F, Args>(method: Method, handler: F) -> Route
where
    F: Handler<Args>,
    Args: FromRequest + Leads<G> + 'static,
    F::Output: Responder + 'static,
{
    web::method(method).to(handler)
}

/// Builds the route table: `METHOD "path" Access => handler;` per line, where an API
/// route's access names its scope: `ApiKey(CasesRead)`. Each entry's handler is
/// registered through [`guarded`] with the extractor of its access (public routes
/// take none).
macro_rules! route_table {
    ($($method:ident $path:literal $access:ident $(($scope:ident))? => $handler:expr;)*) => {
        &[$(
            $crate::web::access::RouteSpec {
                method: actix_web::http::Method::$method,
                path: $path,
                access: $crate::web::access::Access::$access$(($crate::domain::apikey::Scope::$scope))?,
                mount: route_table!(@mount $method $access $(($scope))? $handler),
            },
        )*]
    };
    (@mount $method:ident Public $handler:expr) => {
        |cfg, path| {
            cfg.route(path, actix_web::web::method(actix_web::http::Method::$method).to($handler));
        }
    };
    (@mount $method:ident ApiKey ($scope:ident) $handler:expr) => {
        |cfg, path| {
            cfg.route(
                path,
                $crate::web::access::guarded::<
                    $crate::web::api::ApiKey<$crate::web::api::scope::$scope>,
                    _,
                    _,
                >(actix_web::http::Method::$method, $handler),
            );
        }
    };
    (@mount $method:ident $access:ident $handler:expr) => {
        |cfg, path| {
            cfg.route(
                path,
                $crate::web::access::guarded::<route_table!(@guard $access), _, _>(
                    actix_web::http::Method::$method,
                    $handler,
                ),
            );
        }
    };
    (@guard Signed) => { $crate::web::CurrentUser };
    (@guard Supervisor) => { $crate::web::access::Supervisor };
    (@guard Admin) => { $crate::web::access::Admin };
}
pub(crate) use route_table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_access_admits_exactly_its_roles() {
        let admitted = |a: Access| {
            Role::ALL
                .iter()
                .filter(|r| a.admits(**r))
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(admitted(Access::Public), ["agent", "supervisor", "admin"]);
        assert_eq!(admitted(Access::Signed), ["agent", "supervisor", "admin"]);
        assert_eq!(admitted(Access::Supervisor), ["supervisor", "admin"]);
        assert_eq!(admitted(Access::Admin), ["admin"]);
        for scope in Scope::ALL {
            assert!(admitted(Access::ApiKey(scope)).is_empty());
        }
    }
}
