from django.urls import path

from images.views import media_serve

urlpatterns = [path("<path:name>", media_serve, name="media")]
