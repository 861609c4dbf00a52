"""The complaint file-import page and its downloadable templates."""

from django.http import HttpResponse


def import_page(request):  # to be built (issue 3)
    return HttpResponse(status=501)


def import_template(request, fmt):
    return HttpResponse(status=501)
