from django.urls import path

from accounts import api

# auth/guest/ is served by moderation.urls: minting a guest needs a solved challenge there.
urlpatterns = [
    path("auth/refresh/", api.TokenRefreshApi.as_view(), name="auth-refresh"),
    path("auth/claim/", api.ClaimApi.as_view(), name="auth-claim"),
    path("auth/login/", api.LoginApi.as_view(), name="auth-login"),
    path("me/", api.MeApi.as_view(), name="me"),
]
