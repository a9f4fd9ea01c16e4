"""Exchange Online through Microsoft Graph: the Directory port over Graph's REST API, with msal
for tokens and O365's Connection carrying the requests. Nothing here is imported until a count
first needs Graph (bootstrap picks it with ROLLCALL_DIRECTORY=graph)."""
