use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's database id.
    UserId
);
id_type!(
    /// A group's database id.
    GroupId
);
id_type!(
    /// A module's database id.
    ModuleId
);
id_type!(
    /// A subject's database id.
    SubjectId
);
id_type!(
    /// A lesson's database id.
    LessonId
);
id_type!(
    /// A homework submission's database id.
    SubmissionId
);
id_type!(
    /// A test's (quiz's) database id.
    TestId
);
id_type!(
    /// An attempt's database id.
    AttemptId
);
