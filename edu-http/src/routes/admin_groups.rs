//! `/admin/groups/*`: groups and their members (admin only).

use edu_core::domain::{Group, GroupId, GroupPatch, UserId};
use edu_core::policy::{self, Guard};
use edu_core::{Page, Platform, Store, UserProfile};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok, ok_with_detail, with_total};
use crate::error::ErrorBody;
use crate::extract::{Body, authed, bearer, body, json, parse_query, query, with_platform};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateGroup {
    /// Unique; also accepted as `title`.
    #[serde(alias = "title")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupWithMembers {
    #[serde(flatten)]
    pub group: Group,
    pub users: Vec<UserProfile>,
}

/// The group after a member was added: the old answer (`id`, `name`, `description`) plus how many
/// users were new to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MembersAdded {
    #[serde(flatten)]
    pub group: Group,
    pub detail: String,
    /// Users that were not members yet.
    pub added: u64,
}

/// The group after a member was removed, as the old backend answered it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberRemoved {
    #[serde(flatten)]
    pub group: Group,
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupDeleted {
    pub detail: String,
    pub deleted_users: u64,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let create = warp::path!("admin" / "groups")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(create::<S>);
    let list = warp::path!("admin" / "groups")
        .and(warp::get())
        .and(w())
        .and(query())
        .then(list::<S>);
    let read = warp::path!("admin" / "groups" / i64)
        .and(warp::get())
        .and(w())
        .then(read::<S>);
    let delete = warp::path!("admin" / "groups" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete::<S>);
    let update = warp::path!("admin" / "groups" / i64)
        .and(warp::patch())
        .and(w())
        .and(body())
        .then(update::<S>);
    let move_members = warp::path!("admin" / "groups" / i64 / "move-members")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(move_members::<S>);
    let delete_all = warp::path!("admin" / "groups" / i64 / "with-users")
        .and(warp::delete())
        .and(w())
        .then(delete_with_users::<S>);
    let add = warp::path!("admin" / "groups" / i64 / "users")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(add_users::<S>);
    let members = warp::path!("admin" / "groups" / i64 / "users")
        .and(warp::get())
        .and(w())
        .then(members::<S>);
    let remove = warp::path!("admin" / "groups" / i64 / "users" / i64)
        .and(warp::delete())
        .and(w())
        .then(remove_user::<S>);
    let import = crate::routes::import::route(p.clone());
    super::one_of([
        create.boxed(),
        list.boxed(),
        read.boxed(),
        delete.boxed(),
        update.boxed(),
        move_members.boxed(),
        delete_all.boxed(),
        add.boxed(),
        members.boxed(),
        remove.boxed(),
        import.boxed(),
    ])
}

/// Creates a group; a name in use is a 409. Answers 200, as the old backend did.
#[utoipa::path(post, operation_id = "create_group", path = "/admin/groups/", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), request_body = CreateGroup,
    responses((status = 200, body = Group), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Name in use"), (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: CreateGroup = json(body).await?;
        let group = p.create_group(&who, &req.name, req.description.as_deref()).await?;
        Ok(ok(&group))
    })
    .await
}

/// Lists groups with their member counts: all of them unless `limit` is given; the total is in
/// `X-Total-Count`.
#[utoipa::path(get, operation_id = "list_groups", path = "/admin/groups/", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(Page),
    responses((status = 200, body = Vec<Group>, headers(("X-Total-Count" = i64))), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list<S: Store>(p: Platform<S>, auth: Option<String>, raw: String) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let page: Page = parse_query(&raw)?;
        let (groups, total) = p.list_groups(&who, page).await?;
        Ok(with_total(ok(&groups), total))
    })
    .await
}

/// A group with its members.
#[utoipa::path(get, operation_id = "read_group", path = "/admin/groups/{id}", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = GroupWithMembers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn read<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        let group = p.group(&who, GroupId(id)).await?;
        let users = p.group_members(&who, GroupId(id)).await?;
        Ok(ok(&GroupWithMembers { group, users }))
    })
    .await
}

/// Renames a group or changes its description; its members, links and history stay. A name in
/// use is a conflict.
#[utoipa::path(patch, operation_id = "update_group", path = "/admin/groups/{id}", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = GroupPatch,
    responses((status = 200, body = Group), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let patch: GroupPatch = json(body).await?;
        Ok(ok(&p.update_group(&who, GroupId(id), patch).await?))
    })
    .await
}

/// Where a group's members go.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveMembers {
    /// The group that receives them.
    pub to_group_id: i64,
}

/// How many members moved.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MembersMoved {
    pub moved: u64,
}

/// Moves every member of the group into another one (year-end promotion, merging groups) and
/// leaves this one empty. Homework, results and grades stay with the students.
#[utoipa::path(post, operation_id = "move_group_members", path = "/admin/groups/{id}/move-members", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = MoveMembers,
    responses((status = 200, body = MembersMoved), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn move_members<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let req: MoveMembers = json(body).await?;
        let moved = p
            .move_group_members(&who, GroupId(id), GroupId(req.to_group_id))
            .await?;
        Ok(ok(&MembersMoved { moved }))
    })
    .await
}

/// Deletes a group; its members keep their accounts.
#[utoipa::path(delete, operation_id = "delete_group", path = "/admin/groups/{id}", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_group(&who, GroupId(id)).await?;
        Ok(detail("group deleted"))
    })
    .await
}

/// Deletes a group and its members who are not administrators, with their history.
#[utoipa::path(delete, path = "/admin/groups/{id}/with-users", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = GroupDeleted), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_with_users<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        let deleted_users = p.delete_group_with_users(&who, GroupId(id)).await?;
        Ok(ok_with_detail(&GroupDeleted {
            detail: "group and its users deleted".into(),
            deleted_users,
        }))
    })
    .await
}

/// Adds users (a JSON array of user ids) to the group; answers the group.
#[utoipa::path(post, path = "/admin/groups/{id}/users", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)), request_body = Vec<i64>,
    responses((status = 200, body = MembersAdded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown group or users"), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_users<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let ids: Vec<i64> = json(body).await?;
        let ids: Vec<UserId> = ids.into_iter().map(UserId).collect();
        let added = p.add_group_members(&who, GroupId(id), &ids).await?;
        let group = p.group(&who, GroupId(id)).await?;
        Ok(ok_with_detail(&MembersAdded {
            group,
            detail: "users added".into(),
            added,
        }))
    })
    .await
}

/// The members of a group.
#[utoipa::path(get, path = "/admin/groups/{id}/users", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<UserProfile>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn members<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.group_members(&who, GroupId(id)).await?))
    })
    .await
}

/// Removes a member from the group; answers the group.
#[utoipa::path(delete, path = "/admin/groups/{id}/users/{user_id}", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 200, body = MemberRemoved), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn remove_user<S: Store>(id: i64, user: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.remove_group_member(&who, GroupId(id), UserId(user)).await?;
        let group = p.group(&who, GroupId(id)).await?;
        Ok(ok_with_detail(&MemberRemoved {
            group,
            detail: "user removed from the group".into(),
        }))
    })
    .await
}
