"""The web face for people: sign-up and onboarding (`people`), and the dashboard
(`dashboard`). Both build on `context` (which organization a request acts in) and on
templates/base.html."""
