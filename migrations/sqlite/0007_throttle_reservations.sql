-- Attempts reserved before their password is checked and not yet settled (the login throttle).
ALTER TABLE login_attempts ADD COLUMN pending TEXT NOT NULL DEFAULT '[]';
