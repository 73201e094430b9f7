"""The web dashboard and the tenant portal (`/ui/`): server-rendered pages over the service
layer."""
