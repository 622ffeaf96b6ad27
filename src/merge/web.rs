//! The merge from the "possible duplicates" page (`POST /people/<id>/merge`): the newer record
//! into the older, then back to the kept person.

use rocket::response::Redirect;
use rocket::State;

use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::db::Db;
use crate::error::AppError;

#[derive(rocket::FromForm)]
pub struct MergeForm {
    from_id: i32,
}

#[rocket::post("/people/<id>/merge", data = "<form>")]
pub async fn merge(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<MergeForm>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let input = super::MergeInput {
        from_id: form.from_id,
    };
    db.run(move |conn| super::merge(conn, &user, id, input))
        .await?;
    Ok(Redirect::to(format!("/people/{id}")))
}
