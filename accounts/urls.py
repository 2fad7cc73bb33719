from __future__ import annotations

from django.urls import path

from accounts import api

urlpatterns = [
    path("signup/", api.SignupApi.as_view(), name="signup"),
    path("login/", api.LoginApi.as_view(), name="login"),
    path("logout/", api.LogoutApi.as_view(), name="logout"),
    path("me/", api.MeApi.as_view(), name="me"),
]
