//! Values of the school's domain, parsed once at the edge so that invalid states cannot be built.

mod academic;
mod audit;
pub mod grades;
mod homework;
mod ids;
mod iin;
mod password;
mod phone;
pub mod quiz;
mod role;
pub mod text;
mod user;

pub use academic::{
    Group, GroupPatch, LabelKind, Lesson, LessonKind, LessonResult, Module, ModulePatch, ModuleScope, ModuleTree,
    NewModule, Subject, SubjectPatch, SubjectTree, TeacherRef, UnknownLessonKind, parse_lesson_label, title_key,
};
pub use audit::{AuditFilter, AuditRecord, parse_moment};
pub use grades::{GradeItem, GradeSummary, Gradebook, Source};
pub use homework::{FileOwner, FilesOf, Submission, SubmissionFile, SubmissionFilter};
pub use ids::{AttemptId, GroupId, LessonId, ModuleId, SubjectId, SubmissionId, TestId, UserId};
pub use iin::{Iin, IinError};
pub use password::{Password, PasswordError};
pub use phone::{Phone, PhoneError};
pub use role::{Role, UnknownRole};
pub use user::{NewUser, Page, User, UserProfile};
