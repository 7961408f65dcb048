// Package users holds the accounts that the password grant authenticates,
// the stores that supply them, and password hashing.
//
// # File format
//
// A user file is a YAML document with one top-level key, "users":
//
//	users:
//	  - username: demo
//	    subject: 8f14e45f-ceea-467f-a0e6-0f9a1c2b3d4e
//	    passwordHash: "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>"
//	    email: demo@example.com
//	    groups: [demo]
//
// username is required and unique, and is compared exactly (case-sensitive).
// subject, the "sub" claim of the user's tokens, defaults to the username
// and must be unique too. passwordHash is an argon2id PHC string, as
// HashPassword produces, or a bcrypt hash ($2a$, $2b$ or $2y$). email and
// groups are optional and are copied into access tokens. Unknown and
// duplicate fields are rejected.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package users
