"""Public complaint pages (anonymous): filing a complaint and looking up its status."""

from django.http import HttpResponse


def complaint_new(request):  # to be built (issue 3)
    return HttpResponse(status=501)


def complaint_received(request):
    return HttpResponse(status=501)


def complaint_status(request):
    return HttpResponse(status=501)
